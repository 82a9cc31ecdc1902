package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"hearth/internal/control"
	"hearth/internal/fleet"
	"hearth/internal/gateway"
	"hearth/internal/runtime/process"
	"hearth/internal/sigv4"
	"hearth/internal/store"
)

const (
	keyID  = "AKIDHEARTH"
	secret = "hearth-secret"
	region = "us-east-1"
)

func testAuth(t testing.TB) gateway.Authenticator {
	t.Helper()
	v, err := sigv4.NewVerifier(map[string]sigv4.Credential{"default": {AccessKeyID: keyID, SecretAccessKey: secret}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return gateway.SigV4(v, region)
}

// secureEnv is a gateway requiring SigV4, on a real loopback server
// as hearth serve runs it: the invocation route's own server in front of
// net/http.
type secureEnv struct {
	url string
	ctl *control.Service
}

func newSecureEnv(t *testing.T, opts gateway.Options) *secureEnv {
	t.Helper()
	g, ctl := newSecureGateway(t, opts)
	return &secureEnv{url: serve(t, g), ctl: ctl}
}

// serve runs g on a loopback listener as hearth serve does, and returns
// its URL.
func serve(t testing.TB, g *gateway.Gateway) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := gateway.NewServer(g, nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// newSecureGateway is a gateway requiring SigV4 over a real store, control
// plane and fleet.
func newSecureGateway(t testing.TB, opts gateway.Options) (*gateway.Gateway, *control.Service) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := fleet.New(fleet.Options{Runtime: &process.Runtime{}, ScratchDir: t.TempDir()})
	t.Cleanup(func() { f.Close(context.Background()) })
	ctl := control.New(st, f, control.Options{Region: region, AccountID: "000000000000", RestrictLocal: true})
	f.SetReporter(ctl)
	opts.Control = ctl
	opts.Invoker = &gateway.Runtime{Fleet: f, Region: region, AccountID: "000000000000"}
	if opts.Auth == nil {
		opts.Auth = testAuth(t)
	}
	g := gateway.New(opts)
	g.SetReady(true)
	return g, ctl
}

// signed builds a request signed by aws-sdk-go-v2's signer, over
// payloadHash (the body's by default) for service.
func signed(t *testing.T, method, url, target, body, service, payloadHash string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	}
	if payloadHash == "" {
		sum := sha256.Sum256([]byte(body))
		payloadHash = hex.EncodeToString(sum[:])
	}
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, service, region, time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

// send sends req (re-reading body for it) and returns status, error code
// and body.
func send(t *testing.T, req *http.Request, body string) (int, string, string) {
	t.Helper()
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), string(b)
}

func (e *secureEnv) modelExists(t *testing.T, name string) bool {
	_, err := e.ctl.DescribeModel(context.Background(), &control.NameInput{ModelName: &name})
	return err == nil
}

func (e *secureEnv) createModel(t *testing.T, name string) {
	t.Helper()
	img := "sagemaker-xgboost:1.7-1"
	if _, err := e.ctl.CreateModel(context.Background(), &control.CreateModelInput{ModelName: &name,
		PrimaryContainer: &control.ContainerDefinition{Image: &img}}); err != nil {
		t.Fatal(err)
	}
}

// TestReplayedSignatureCannotChangeTheOperation: a captured DescribeModel
// replayed with another X-Amz-Target, signed or added unsigned, deletes
// nothing.
func TestReplayedSignatureCannotChangeTheOperation(t *testing.T) {
	e := newSecureEnv(t, gateway.Options{})
	e.createModel(t, "keep")
	body := `{"ModelName":"keep"}`
	req := signed(t, "POST", e.url+"/", "SageMaker.DescribeModel", body, "sagemaker", "")
	if st, code, b := send(t, req, body); st != 200 {
		t.Fatalf("signed DescribeModel: %d %s %s", st, code, b)
	}

	replay := req.Clone(context.Background())
	replay.Header.Set("X-Amz-Target", "SageMaker.DeleteModel")
	if st, code, _ := send(t, replay, body); st != 403 || code != sigv4.CodeInvalidSignature {
		t.Errorf("replayed as DeleteModel: %d %s, want 403 %s", st, code, sigv4.CodeInvalidSignature)
	}

	// Signed without the target, which is added afterwards.
	bare := signed(t, "POST", e.url+"/", "", body, "sagemaker", "")
	bare.Header.Set("X-Amz-Target", "SageMaker.DeleteModel")
	bare.Header.Set("Content-Type", "application/x-amz-json-1.1")
	st, code, b := send(t, bare, body)
	if st != 403 || code != sigv4.CodeIncompleteSignature || !strings.Contains(b, "x-amz-target") {
		t.Errorf("unsigned X-Amz-Target: %d %s %s, want 403 %s naming x-amz-target", st, code, b, sigv4.CodeIncompleteSignature)
	}
	if !e.modelExists(t, "keep") {
		t.Fatal("the model was deleted")
	}
}

func TestCredentialScopeMustNameRegionAndService(t *testing.T) {
	e := newSecureEnv(t, gateway.Options{})
	body := `{}`
	for _, tc := range []struct {
		target, service, region string
		status                  int
		code, message           string
	}{
		{"SageMaker.ListModels", "sagemaker", region, 200, "", ""},
		{"SageMaker.ListModels", "s3", region, 403, sigv4.CodeInvalidSignature, "correct service: 'sagemaker'"},
		{"SageMaker.ListModels", "monitoring", region, 403, sigv4.CodeInvalidSignature, "correct service: 'sagemaker'"},
		{"SageMaker.ListModels", "application-autoscaling", region, 403, sigv4.CodeInvalidSignature, "correct service: 'sagemaker'"},
		{"SageMaker.ListModels", "sagemaker", "xx-nowhere-9", 403, sigv4.CodeInvalidSignature, "valid region, not 'xx-nowhere-9'"},
		{"AnyScaleFrontendService.DescribeScalableTargets", "sagemaker", region, 403, sigv4.CodeInvalidSignature, "correct service: 'application-autoscaling'"},
		{"GraniteServiceVersion20100801.ListMetrics", "sagemaker", region, 403, sigv4.CodeInvalidSignature, "correct service: 'monitoring'"},
		{"Logs_20140328.DescribeLogGroups", "sagemaker", region, 403, sigv4.CodeInvalidSignature, "correct service: 'logs'"},
	} {
		req, err := http.NewRequest("POST", e.url+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", tc.target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
			req, hex.EncodeToString(sum[:]), tc.service, tc.region, time.Now()); err != nil {
			t.Fatal(err)
		}
		st, code, b := send(t, req, body)
		if st != tc.status || code != tc.code || !strings.Contains(b, tc.message) {
			t.Errorf("%s scoped %s/%s: %d %s %s; want %d %s %q", tc.target, tc.region, tc.service, st, code, b, tc.status, tc.code, tc.message)
		}
	}
}

// TestUnsignedPayloadIsRefused: neither the header form nor a presigned
// URL signed over host alone may leave the body out of the signature.
func TestUnsignedPayloadIsRefused(t *testing.T) {
	e := newSecureEnv(t, gateway.Options{})
	create := `{"ModelName":"evil","PrimaryContainer":{"Image":"/bin/bash"}}`

	req := signed(t, "POST", e.url+"/", "SageMaker.CreateModel", create, "sagemaker", "UNSIGNED-PAYLOAD")
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	// Sign again now that the header is there, as a client declaring it does.
	req = signedWith(t, req, "UNSIGNED-PAYLOAD")
	if st, code, _ := send(t, req, create); st != 403 || code != sigv4.CodeInvalidSignature {
		t.Errorf("header form with UNSIGNED-PAYLOAD: %d %s", st, code)
	}

	// A presigned URL over host alone, good for a week, then used with
	// any operation and any body.
	bare, err := http.NewRequest("POST", e.url+"/?X-Amz-Expires=604800", nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
		bare, "UNSIGNED-PAYLOAD", "sagemaker", region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ target, body string }{{"SageMaker.ListModels", "{}"}, {"SageMaker.CreateModel", create}} {
		r, err := http.NewRequest("POST", u, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("X-Amz-Target", tc.target)
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		st, code, b := send(t, r, tc.body)
		if st != 403 || (code != sigv4.CodeIncompleteSignature && code != sigv4.CodeInvalidSignature) {
			t.Errorf("presigned host-only URL running %s: %d %s %s", tc.target, st, code, b)
		}
	}
	if e.modelExists(t, "evil") {
		t.Fatal("a model was created")
	}
}

func signedWith(t *testing.T, req *http.Request, payloadHash string) *http.Request {
	t.Helper()
	req.Header.Del("Authorization")
	req.Header.Del("X-Amz-Date")
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
		req, payloadHash, "sagemaker", region, time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

// rawRequest writes a request head on a new connection and returns the
// connection and a reader of its responses.
func rawRequest(t *testing.T, baseURL, head string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(baseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	return c, bufio.NewReader(c)
}

// TestNoBodyIsReadBeforeAuthentication: a request claiming an 8 MiB body
// without a usable signature is answered at once, its body unread, and
// its connection closed.
func TestNoBodyIsReadBeforeAuthentication(t *testing.T) {
	e := newSecureEnv(t, gateway.Options{})
	for _, tc := range []struct{ api, auth string }{
		{"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: SageMaker.ListModels\r\nContent-Type: application/x-amz-json-1.1\r\n", ""},
		{"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: SageMaker.ListModels\r\nContent-Type: application/x-amz-json-1.1\r\n",
			"Authorization: AWS4-HMAC-SHA256 Credential=AKIDNOBODY/20240101/us-east-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\nX-Amz-Date: 20240101T000000Z\r\n"},
		{"POST /endpoints/e/invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n", ""},
		{"POST /endpoints/e/invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n",
			"Authorization: AWS4-HMAC-SHA256 Credential=AKIDNOBODY/20240101/us-east-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\nX-Amz-Date: 20240101T000000Z\r\n"},
	} {
		c, br := rawRequest(t, e.url, tc.api+tc.auth+"Content-Length: 8388608\r\n\r\n{")
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("no answer before the body: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 || !resp.Close {
			t.Errorf("status %d, close %v; want 403 and the connection closed", resp.StatusCode, resp.Close)
		}
	}
}

// TestSlowBodyIsCutWith408: a body slower than the floor rate is cut.
func TestSlowBodyIsCutWith408(t *testing.T) {
	e := newSecureEnv(t, gateway.Options{BodyGrace: 200 * time.Millisecond, BodyMinRate: 1 << 20})
	t.Run("API", func(t *testing.T) {
		body := `{"MaxResults":10}`
		slowBody(t, signed(t, "POST", e.url+"/", "SageMaker.ListModels", body, "sagemaker", ""), body)
	})
	t.Run("invocation", func(t *testing.T) {
		body := `1,2,3,4,5,6,7,8`
		slowBody(t, signed(t, "POST", e.url+"/endpoints/e/invocations", "", body, "sagemaker", ""), body)
	})
}

// slowBody sends req's head, then body a byte every 100 ms, and wants 408.
func slowBody(t *testing.T, req *http.Request, body string) {
	var head bytes.Buffer
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", req.URL.RequestURI(), req.Host, len(body))
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&head, "%s: %s\r\n", k, v)
		}
	}
	head.WriteString("\r\n")
	c, br := rawRequest(t, "http://"+req.Host, head.String())
	go func() { // one byte every 100 ms
		for i := 0; i < len(body); i++ {
			if _, err := c.Write([]byte{body[i]}); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || resp.Header.Get("X-Amzn-ErrorType") != "RequestTimeoutException" {
		t.Fatalf("slow body: %d %s %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b)
	}
}

// TestPathIsDecodedOnce: %2565 is the three characters %65, not e.
func TestPathIsDecodedOnce(t *testing.T) {
	e := newSecureEnv(t, gateway.Options{})
	for _, tc := range []struct {
		path, want string
	}{
		{"/endpoints/e/invocations", `Endpoint e `},
		{"/endpoints/%65/invocations", `Endpoint e `},
		{"/endpoints/%2565/invocations", "regular expression pattern"},
	} {
		req := signed(t, "POST", e.url+tc.path, "", "1", "sagemaker", "")
		st, code, b := send(t, req, "1")
		if st != 400 || code != "ValidationError" || !strings.Contains(b, tc.want) {
			t.Errorf("%s: %d %s %s; want a ValidationError containing %q", tc.path, st, code, b, tc.want)
		}
	}
}

// TestLongEndpointNameIsNotEchoed: a name over SageMaker's 63 characters
// is refused without being sent back.
func TestLongEndpointNameIsNotEchoed(t *testing.T) {
	e := newSecureEnv(t, gateway.Options{})
	long := strings.Repeat("a", 4000)
	req := signed(t, "POST", e.url+"/endpoints/"+long+"/invocations", "", "1", "sagemaker", "")
	st, code, b := send(t, req, "1")
	if st != 400 || code != "ValidationError" || !strings.Contains(b, "less than or equal to 63") {
		t.Errorf("long name: %d %s %.200s", st, code, b)
	}
	if strings.Contains(b, strings.Repeat("a", 64)) {
		t.Error("the long name was echoed")
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(b), &m); err != nil {
		t.Errorf("error body is not JSON: %v", err)
	}
}

func TestMetricsNeedsSignatureOrToken(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hearth_up 1\n") })
	get := func(url string, header map[string]string) int {
		req, err := http.NewRequest("GET", url+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	// Dev mode: open.
	dev := gateway.New(gateway.Options{Metrics: metrics})
	srv := httptest.NewServer(dev)
	t.Cleanup(srv.Close)
	if st := get(srv.URL, nil); st != 200 {
		t.Errorf("dev mode: %d, want 200", st)
	}

	e := newSecureEnv(t, gateway.Options{Metrics: metrics, MetricsToken: "scrape-token"})
	if st := get(e.url, nil); st != 403 {
		t.Errorf("no credentials: %d, want 403", st)
	}
	if st := get(e.url, map[string]string{"Authorization": "Bearer wrong"}); st != 403 {
		t.Errorf("wrong bearer token: %d, want 403", st)
	}
	if st := get(e.url, map[string]string{"Authorization": "Bearer scrape-token"}); st != 200 {
		t.Errorf("bearer token: %d, want 200", st)
	}
	for service, want := range map[string]int{"monitoring": 200, "sagemaker": 403} {
		req := signed(t, "GET", e.url+"/metrics", "", "", service, "")
		if st, code, _ := send(t, req, ""); st != want {
			t.Errorf("SigV4 scoped to %s: %d %s, want %d", service, st, code, want)
		}
	}
}

// FuzzUnsignedRequests sends requests with arbitrary paths, targets,
// Authorization headers and bodies, none validly signed: each must be
// refused with a 4xx AWS error, and nothing stored.
func FuzzUnsignedRequests(f *testing.F) {
	f.Add("/", "SageMaker.CreateModel", "AWS4-HMAC-SHA256 Credential=AKIDHEARTH/20240101/us-east-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=00",
		`{"ModelName":"evil","PrimaryContainer":{"Image":"/bin/bash"}}`)
	f.Add("/endpoints/%2565/invocations", "", "", "x")
	f.Add("/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDHEARTH%2F20240101%2Fus-east-1%2Fsagemaker%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00&X-Amz-Expires=604800",
		"SageMaker.ListModels", "", "{}")
	f.Add("/metrics", "", "Bearer x", "")
	g, ctl := newSecureGateway(f, gateway.Options{})
	f.Fuzz(func(t *testing.T, path, target, auth, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest("POST", "http://localhost"+path, strings.NewReader(body))
		if err != nil {
			return // not a URL a client could send
		}
		if target != "" {
			req.Header["X-Amz-Target"] = []string{target}
		}
		if auth != "" {
			req.Header["Authorization"] = []string{auth}
			req.Header["X-Amz-Date"] = []string{time.Now().UTC().Format("20060102T150405Z")}
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("%s %q %q: status %d %s", path, target, auth, rec.Code, rec.Body)
		}
		if rec.Header().Get("X-Amzn-ErrorType") == "" {
			t.Fatalf("%s %q %q: error without an AWS code: %s", path, target, auth, rec.Body)
		}
		out, err := ctl.ListModels(context.Background(), &control.ListInput{})
		if b, _ := json.Marshal(out); err != nil || strings.Contains(string(b), "ModelName") {
			t.Fatalf("models stored: %s %v", b, err)
		}
	})
}
