package artifact

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// objectServer serves objects by path with strong ETags and honours
// If-None-Match, as a static file server or S3 does.
type objectServer struct {
	mu      sync.Mutex
	objects map[string][]byte
	gets    int      // requests that transferred a body
	cond    []string // If-None-Match values received
}

func (s *objectServer) put(path string, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.objects == nil {
		s.objects = make(map[string][]byte)
	}
	s.objects[path] = b
}

// serve answers a GET or HEAD for path; it reports false if there is no
// such object.
func (s *objectServer) serve(w http.ResponseWriter, r *http.Request, path string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.objects[path]
	if !ok {
		return false
	}
	etag := `"` + sha256Hex(b)[:32] + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT")
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		s.cond = append(s.cond, inm)
		if inm == etag {
			w.WriteHeader(http.StatusNotModified)
			return true
		}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodHead {
		return true
	}
	s.gets++
	w.Write(b)
	return true
}

func (s *objectServer) counts() (gets, conds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets, len(s.cond)
}

func TestFetchHTTPS(t *testing.T) {
	ctx := context.Background()
	objs := &objectServer{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-http":
			http.Redirect(w, r, "http://127.0.0.1:1/m.tar.gz", http.StatusFound)
		case "/forbidden.tar.gz":
			http.Error(w, "no", http.StatusForbidden)
		default:
			if !objs.serve(w, r, r.URL.Path) {
				http.NotFound(w, r)
			}
		}
	}))
	defer srv.Close()
	v1 := makeTar(t, true, entry{name: "xgboost-model", body: "v1"})
	objs.put("/models/model.tar.gz", v1)

	f := newTestFetcher(t, Options{HTTPClient: srv.Client()})
	url := srv.URL + "/models/model.tar.gz"
	a, err := f.Fetch(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, a.Dir)["xgboost-model"]; got != "v1" {
		t.Errorf("xgboost-model = %q, want v1", got)
	}
	if a.Digest != sha256Hex(v1) || a.Size != int64(len(v1)) {
		t.Errorf("artifact %+v, want digest %s and size %d", a, sha256Hex(v1), len(v1))
	}

	// Unchanged: revalidated, no body transferred.
	b, err := f.Fetch(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if b != a {
		t.Errorf("second fetch = %+v, want %+v", b, a)
	}
	if gets, conds := objs.counts(); gets != 1 || conds != 1 {
		t.Errorf("server saw %d downloads and %d conditional requests, want 1 and 1", gets, conds)
	}

	// Changed: downloaded and unpacked anew.
	objs.put("/models/model.tar.gz", makeTar(t, true, entry{name: "xgboost-model", body: "v2"}))
	c, err := f.Fetch(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, c.Dir)["xgboost-model"]; got != "v2" {
		t.Errorf("after the object changed xgboost-model = %q, want v2", got)
	}
	s := f.Stats()
	if s.Downloads != 2 || s.Revalidated != 1 || s.Unpacks != 2 {
		t.Errorf("stats %+v, want 2 downloads, 1 revalidation, 2 unpacks", s)
	}

	for _, tt := range []struct {
		name, path string
		kind       error
		want       string
	}{
		{name: "not found", path: "/missing.tar.gz", kind: ErrNotFound, want: ": HTTP 404 Not Found"},
		{name: "forbidden", path: "/forbidden.tar.gz", kind: ErrAccessDenied, want: ": HTTP 403 Forbidden"},
		{name: "redirect to plain http", path: "/to-http", want: "refusing redirect to http://127.0.0.1:1/m.tar.gz"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url := srv.URL + tt.path
			_, err := f.Fetch(ctx, url)
			if err == nil {
				t.Fatal("Fetch succeeded, want an error")
			}
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Errorf("error %v does not match %v", err, tt.kind)
			}
			if prefix := fmt.Sprintf("Failed to download model data from %q", url); !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error is\n\t%s\nwant %s...%s", err, prefix, tt.want)
			}
		})
	}
}

func TestFetchPlainHTTPWhenAllowed(t *testing.T) {
	objs := &objectServer{}
	objs.put("/xgboost-model", []byte("model bytes"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !objs.serve(w, r, r.URL.Path) {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	f := newTestFetcher(t, Options{AllowHTTP: true, HTTPClient: srv.Client()})
	a, err := f.Fetch(context.Background(), srv.URL+"/xgboost-model")
	if err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, a.Dir); len(got) != 1 || got["xgboost-model"] != "model bytes" {
		t.Errorf("model directory %v, want the file under its URL's base name", got)
	}
}

func TestFetchDownloadLimitWithoutContentLength(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Flushing first makes the response chunked: no Content-Length.
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		w.Write([]byte(strings.Repeat("x", 5000)))
	}))
	defer srv.Close()
	cache := filepath.Join(t.TempDir(), "cache")
	f := newTestFetcher(t, Options{CacheDir: cache, HTTPClient: srv.Client(), MaxDownloadBytes: 1000})
	_, err := f.Fetch(context.Background(), srv.URL+"/big")
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if names := cacheNames(t, cache); len(names) != 0 {
		t.Errorf("failed download left %v behind", names)
	}
}

// fakeS3 is a minimal S3 endpoint for path-style GetObject and HeadObject,
// enough for the real SDK client. It checks that requests carry a SigV4
// signature for the expected access key.
type fakeS3 struct {
	t      *testing.T
	keyID  string
	region string
	objs   objectServer
}

func (s *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	scope := "Credential=" + s.keyID + "/"
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, scope) ||
		!strings.Contains(auth, "/"+s.region+"/s3/aws4_request") || !strings.Contains(auth, "Signature=") ||
		r.Header.Get("X-Amz-Date") == "" || r.Header.Get("X-Amz-Content-Sha256") == "" {
		s.t.Errorf("request %s %s is not SigV4-signed for %s in %s: Authorization %q", r.Method, r.URL, s.keyID, s.region, auth)
		s3Fail(w, http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s3Fail(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket != "models" {
		s3Fail(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return
	}
	if !s.objs.serve(w, r, key) {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		s3Fail(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	}
}

func s3Fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Error><Code>%s</Code><Message>%s</Message><RequestId>1</RequestId></Error>`, code, msg)
}

func TestFetchS3(t *testing.T) {
	// Keep the developer's AWS configuration out of the test.
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	ctx := context.Background()
	store := &fakeS3{t: t, keyID: "AKIDHEARTHTEST", region: "eu-west-1"}
	archive := makeTar(t, true, entry{name: "xgboost-model", body: "s3 model"})
	store.objs.put("abalone/model.tar.gz", archive)
	srv := httptest.NewServer(store)
	defer srv.Close()

	client, err := NewS3Client(ctx, S3Config{
		EndpointURL: srv.URL, Region: "eu-west-1", UsePathStyle: true,
		AccessKeyID: "AKIDHEARTHTEST", SecretAccessKey: "secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	f := newTestFetcher(t, Options{S3: client})
	url := "s3://models/abalone/model.tar.gz"
	a, err := f.Fetch(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, a.Dir)["xgboost-model"]; got != "s3 model" {
		t.Errorf("xgboost-model = %q, want %q", got, "s3 model")
	}
	if a.Digest != sha256Hex(archive) {
		t.Errorf("Digest = %s, want %s", a.Digest, sha256Hex(archive))
	}
	if b, err := f.Fetch(ctx, url); err != nil || b != a {
		t.Errorf("second fetch = %+v, %v; want %+v", b, err, a)
	}
	if gets, conds := store.objs.counts(); gets != 1 || conds != 1 {
		t.Errorf("store saw %d downloads and %d conditional requests, want 1 and 1", gets, conds)
	}

	for _, tt := range []struct {
		name, url string
		kind      error
		want      string
	}{
		{name: "no such key", url: "s3://models/missing.tar.gz", kind: ErrNotFound,
			want: `Failed to download model data from "s3://models/missing.tar.gz": NoSuchKey: The specified key does not exist.`},
		{name: "no such bucket", url: "s3://other/model.tar.gz", kind: ErrNotFound,
			want: `Failed to download model data from "s3://other/model.tar.gz": NoSuchBucket: The specified bucket does not exist`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.Fetch(ctx, tt.url)
			if !errors.Is(err, tt.kind) {
				t.Errorf("err = %v, want it to match %v", err, tt.kind)
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("error is\n\t%v\nwant\n\t%s", err, tt.want)
			}
		})
	}
}

func TestFetchHTTPSConcurrent(t *testing.T) {
	objs := &objectServer{}
	objs.put("/m.tar.gz", makeTar(t, true, entry{name: "xgboost-model", body: strings.Repeat("m", 1<<16)}))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !objs.serve(w, r, r.URL.Path) {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	f := newTestFetcher(t, Options{HTTPClient: srv.Client()})
	const n = 8
	got := make([]Artifact, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = f.Fetch(context.Background(), srv.URL+"/m.tar.gz") })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != got[0] {
			t.Errorf("fetch %d = %+v, %v; fetch 0 = %+v", i, got[i], errs[i], got[0])
		}
	}
	if s := f.Stats(); s.Unpacks != 1 {
		t.Errorf("Unpacks = %d for %d concurrent fetches, want 1", s.Unpacks, n)
	}
}
