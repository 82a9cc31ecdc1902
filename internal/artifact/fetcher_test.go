package artifact

import (
	"archive/tar"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFetchUnpacksSameContentOnce(t *testing.T) {
	ctx := context.Background()
	f := newTestFetcher(t, Options{})
	archive := makeTar(t, true, entry{name: "xgboost-model", body: "v1"})
	a := writeFile(t, "model.tar.gz", archive)
	b := writeFile(t, "copy.tgz", archive) // same bytes, another URL

	first, err := f.Fetch(ctx, fileURL(a))
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{fileURL(a), a, "file://localhost" + a, b} {
		got, err := f.Fetch(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if got != first {
			t.Errorf("Fetch(%s) = %+v, want %+v", url, got, first)
		}
	}
	if s := f.Stats(); s.Unpacks != 1 || s.Fetches != 5 {
		t.Errorf("after 5 fetches of one content: %+v, want 1 unpack", s)
	}

	// New content at the same path is a new tree; the old one stays.
	if err := os.WriteFile(a, makeTar(t, true, entry{name: "xgboost-model", body: "v2, longer"}), 0o644); err != nil {
		t.Fatal(err)
	}
	second, err := f.Fetch(ctx, fileURL(a))
	if err != nil {
		t.Fatal(err)
	}
	if second.Digest == first.Digest {
		t.Fatalf("changed file kept digest %s", first.Digest)
	}
	if got := readTree(t, second.Dir)["xgboost-model"]; got != "v2, longer" {
		t.Errorf("xgboost-model = %q after the change, want the new content", got)
	}
	if got := readTree(t, first.Dir)["xgboost-model"]; got != "v1" {
		t.Errorf("old tree holds %q, want it untouched", got)
	}
	if s := f.Stats(); s.Unpacks != 2 {
		t.Errorf("Unpacks = %d, want 2", s.Unpacks)
	}
}

func TestFetchTrustsUnchangedFileMetadata(t *testing.T) {
	// A local file whose path, size, mtime and inode are unchanged is not
	// read again: rewriting it in place with same-size content and restoring
	// its mtime keeps the remembered digest.
	ctx := context.Background()
	f := newTestFetcher(t, Options{})
	p := writeFile(t, "xgboost-model", []byte("aaaa"))
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	first, err := f.Fetch(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("bbbb"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	again, err := f.Fetch(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest != first.Digest {
		t.Errorf("digest changed to %s without a metadata change; want the remembered %s", again.Digest, first.Digest)
	}
	// Touching the file makes it read again.
	if err := os.Chtimes(p, fi.ModTime().Add(time.Second), fi.ModTime().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	third, err := f.Fetch(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, third.Dir)["xgboost-model"]; got != "bbbb" {
		t.Errorf("after a new mtime the model is %q, want %q", got, "bbbb")
	}
}

func TestFetchConcurrent(t *testing.T) {
	f := newTestFetcher(t, Options{})
	src := fileURL(writeFile(t, "model.tar.gz", makeTar(t, true, entry{name: "xgboost-model", body: strings.Repeat("t", 1<<16)})))
	const n = 8
	results := make([]Artifact, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = f.Fetch(context.Background(), src) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("fetch %d: %v", i, errs[i])
		}
		if results[i] != results[0] {
			t.Errorf("fetch %d = %+v, fetch 0 = %+v", i, results[i], results[0])
		}
	}
	if s := f.Stats(); s.Unpacks != 1 || s.Fetches != n {
		t.Errorf("stats %+v, want %d fetches and 1 unpack", s, n)
	}
}

func TestFetchCopiesDirectories(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	for name, body := range map[string]string{"xgboost-model": "trees", "code/serve": "#!/bin/sh\n"} {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../xgboost-model", filepath.Join(src, "code", "model")); err != nil {
		t.Fatal(err)
	}
	f := newTestFetcher(t, Options{})
	a, err := f.Fetch(ctx, fileURL(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"xgboost-model": "trees", "code": "dir", "code/serve": "#!/bin/sh\n", "code/model": "-> ../xgboost-model"}
	if diff := cmp.Diff(want, readTree(t, a.Dir)); diff != "" {
		t.Errorf("model directory (-want +got):\n%s", diff)
	}
	if a.Size != int64(len("trees")+len("#!/bin/sh\n")) {
		t.Errorf("Size = %d, want the sum of the file sizes", a.Size)
	}
	if again, err := f.Fetch(ctx, src); err != nil || again != a {
		t.Errorf("second fetch = %+v, %v; want %+v", again, err, a)
	}
	if s := f.Stats(); s.Unpacks != 1 {
		t.Errorf("Unpacks = %d, want 1", s.Unpacks)
	}

	// A directory holding just one file is the same tree as that file.
	one := t.TempDir()
	if err := os.WriteFile(filepath.Join(one, "xgboost-model"), []byte("trees"), 0o644); err != nil {
		t.Fatal(err)
	}
	fromDir, err := f.Fetch(ctx, one)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := f.Fetch(ctx, filepath.Join(one, "xgboost-model"))
	if err != nil {
		t.Fatal(err)
	}
	if fromDir.Digest != fromFile.Digest {
		t.Errorf("directory digest %s differs from file digest %s for the same tree", fromDir.Digest, fromFile.Digest)
	}
}

func TestFetchRefusesEscapingDirectorySymlink(t *testing.T) {
	src := t.TempDir()
	if err := os.Symlink("../../etc/passwd", filepath.Join(src, "passwd")); err != nil {
		t.Fatal(err)
	}
	f := newTestFetcher(t, Options{})
	_, err := f.Fetch(context.Background(), src)
	if !errors.Is(err, ErrUnsafeEntry) {
		t.Fatalf("err = %v, want ErrUnsafeEntry", err)
	}
	if want := `entry "passwd" is a symlink to "../../etc/passwd", which escapes the model directory`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

func TestFetchErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.tar.gz")
	tests := []struct {
		name string
		opts Options
		url  string
		kind error
		want string
	}{
		{
			name: "missing local file",
			url:  fileURL(missing),
			kind: ErrNotFound,
			want: `Failed to download model data from "` + fileURL(missing) + `": stat ` + missing + `: no such file or directory`,
		},
		{
			name: "relative path",
			url:  "model.tar.gz",
			kind: ErrInvalidURL,
			want: `invalid model data URL "model.tar.gz": must be an s3://, https:// or file:// URL, or an absolute path`,
		},
		{
			name: "plain http not allowed",
			url:  "http://models.local/m.tar.gz",
			kind: ErrInvalidURL,
			want: `invalid model data URL "http://models.local/m.tar.gz": uses plain http, which is not allowed`,
		},
		{
			name: "s3 without a client",
			url:  "s3://bucket/model.tar.gz",
			want: `Failed to download model data from "s3://bucket/model.tar.gz": no S3 client is configured for s3:// model data`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTestFetcher(t, tt.opts)
			_, err := f.Fetch(context.Background(), tt.url)
			if err == nil {
				t.Fatal("Fetch succeeded, want an error")
			}
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Errorf("error %q does not match %v", err, tt.kind)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error is\n\t%s\nwant it to start with\n\t%s", err, tt.want)
			}
		})
	}
}

func TestFetchCancelled(t *testing.T) {
	f := newTestFetcher(t, Options{})
	src := writeFile(t, "model.tar.gz", makeTar(t, true, entry{name: "a", body: "x"}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Fetch(ctx, src); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if a, err := f.Fetch(context.Background(), src); err != nil || readTree(t, a.Dir)["a"] != "x" {
		t.Fatalf("fetch after a cancelled one = %+v, %v", a, err)
	}
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f := newTestFetcher(t, Options{Clock: clock, PruneGrace: 10 * time.Minute})
	keep, err := f.Fetch(ctx, writeFile(t, "keep", []byte("keep")))
	if err != nil {
		t.Fatal(err)
	}
	dropSrc := writeFile(t, "drop.tar.gz", makeTar(t, true, entry{name: "d/x", body: "drop"}))
	drop, err := f.Fetch(ctx, dropSrc)
	if err != nil {
		t.Fatal(err)
	}
	// Leftover of an interrupted fetch, read-only like a finished tree.
	stale := filepath.Join(f.opts.CacheDir, ".tmp-123")
	if err := os.MkdirAll(filepath.Join(stale, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := makeReadOnly(stale); err != nil {
		t.Fatal(err)
	}

	removed, err := f.Prune(ctx, map[string]bool{keep.Digest: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 0 {
		t.Errorf("Prune within the grace period removed %v", removed)
	}

	clock.Advance(11 * time.Minute)
	removed, err = f.Prune(ctx, map[string]bool{keep.Digest: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{drop.Digest}, removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	names := cacheNames(t, f.opts.CacheDir)
	if !slices.Equal(names, []string{keep.Digest}) {
		t.Errorf("cache holds %v, want only %s", names, keep.Digest)
	}

	again, err := f.Fetch(ctx, dropSrc)
	if err != nil {
		t.Fatal(err)
	}
	if again != drop || readTree(t, again.Dir)["d/x"] != "drop" {
		t.Errorf("refetch after prune = %+v, want a rebuilt %+v", again, drop)
	}
	if s := f.Stats(); s.Unpacks != 3 {
		t.Errorf("Unpacks = %d, want 3 (keep, drop, drop again)", s.Unpacks)
	}
}

func TestGroupCoalesces(t *testing.T) {
	var g group[int]
	release := make(chan struct{})
	var runs int
	var mu sync.Mutex
	fn := func(ctx context.Context) (int, error) {
		mu.Lock()
		runs++
		mu.Unlock()
		<-release
		return 42, nil
	}
	const n = 8
	got := make([]int, n)
	started := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], started[i], _ = g.do(context.Background(), "k", fn) })
	}
	waitFor(t, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		c := g.calls["k"]
		return c != nil && c.waiters == n
	})
	close(release)
	wg.Wait()
	if runs != 1 {
		t.Errorf("fn ran %d times for %d concurrent callers, want once", runs, n)
	}
	if c := countTrue(started); c != 1 {
		t.Errorf("%d callers report starting the call, want 1", c)
	}
	for i, v := range got {
		if v != 42 {
			t.Errorf("caller %d got %d, want 42", i, v)
		}
	}
}

func TestGroupCancellation(t *testing.T) {
	var g group[int]
	started := make(chan struct{})
	workDone := make(chan error, 1)
	release := make(chan struct{})
	fn := func(ctx context.Context) (int, error) {
		close(started)
		select {
		case <-release:
			return 1, nil
		case <-ctx.Done():
			workDone <- ctx.Err()
			return 0, ctx.Err()
		}
	}
	impatient, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, _, err := g.do(impatient, "k", fn); first <- err }()
	<-started
	patient := make(chan int, 1)
	go func() { v, _, _ := g.do(context.Background(), "k", fn); patient <- v }()
	waitFor(t, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.calls["k"].waiters == 2
	})

	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller got %v, want context.Canceled", err)
	}
	close(release)
	if v := <-patient; v != 1 {
		t.Errorf("remaining caller got %d, want the work's result 1", v)
	}

	// When every caller gives up, the work is cancelled.
	var g2 group[int]
	started, release = make(chan struct{}), make(chan struct{})
	ctx, cancel2 := context.WithCancel(context.Background())
	go func() { g2.do(ctx, "k", fn) }()
	<-started
	cancel2()
	if err := <-workDone; !errors.Is(err, context.Canceled) {
		t.Errorf("work ended with %v, want context.Canceled", err)
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// waitFor yields until cond holds, failing after a generous deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		runtime.Gosched()
	}
}

func BenchmarkFetchWarm(b *testing.B) {
	ctx := context.Background()
	f := newTestFetcher(b, Options{})
	src := fileURL(writeFile(b, "model.tar.gz", makeTar(b, true,
		entry{name: "xgboost-model", body: strings.Repeat("tree ", 20000)},
		entry{name: "code/", typ: tar.TypeDir},
		entry{name: "code/inference.py", body: "def predict(x): return x\n"})))
	if _, err := f.Fetch(ctx, src); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Fetch(ctx, src); err != nil {
			b.Fatal(err)
		}
	}
	if s := f.Stats(); s.Unpacks != 1 {
		b.Fatalf("warm fetches unpacked %d times", s.Unpacks)
	}
}

// BenchmarkFetchCold measures hashing and unpacking a 1 MiB model; its
// throughput is of unpacked bytes.
func BenchmarkFetchCold(b *testing.B) {
	ctx := context.Background()
	model := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{1}).Read(model)
	data := makeTar(b, true,
		entry{name: "xgboost-model", body: string(model)},
		entry{name: "code/inference.py", body: "def predict(x): return x\n"})
	src := fileURL(writeFile(b, "model.tar.gz", data))
	b.SetBytes(int64(len(model)))
	for b.Loop() {
		f := newTestFetcher(b, Options{})
		if _, err := f.Fetch(ctx, src); err != nil {
			b.Fatal(err)
		}
	}
}
