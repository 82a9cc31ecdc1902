package inprocess

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hearth/internal/runtime"
	"hearth/internal/xgboost"
	"hearth/internal/xgboost/xgbserve"
)

const abalone = "../../xgboost/testdata/abalone-regression"

// modelDir is a model directory holding the abalone regression model, as
// an unpacked artifact is.
func modelDir(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(abalone, "xgboost-model"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "xgboost-model"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func firstLine(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(abalone, name))
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return line
}

func start(t testing.TB, env ...string) *Process {
	t.Helper()
	p, err := (&Runtime{}).Start(context.Background(), runtime.Spec{Name: "w", ModelDir: modelDir(t), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	return p.(*Process)
}

func TestInvokeScoresAsTheWorkerDoes(t *testing.T) {
	p := start(t)
	row := firstLine(t, "input.csv")
	want := firstLine(t, "expected.csv")
	resp, err := p.Invoke(context.Background(), &runtime.Request{ContentType: "text/csv", Body: []byte(row)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || resp.ContentType != "text/csv; charset=utf-8" {
		t.Fatalf("status %d, type %q", resp.Status, resp.ContentType)
	}
	if got := strings.TrimSpace(string(resp.Body)); !strings.HasPrefix(got, want[:6]) {
		t.Fatalf("prediction %q, want about %s", got, want)
	}

	// Every answer, refusals included, is the one the HTTP worker gives.
	m, err := xgboost.LoadDir(modelDir(t))
	if err != nil {
		t.Fatal(err)
	}
	h := xgbserve.NewHandler(m, func(string) string { return "" })
	cases := []runtime.Request{
		{ContentType: "text/csv", Accept: "application/json", Body: []byte(row + "\n" + row)},
		{ContentType: "text/csv", Accept: "application/jsonlines", Body: []byte(row)},
		{ContentType: "text/libsvm", Body: []byte("1 1:0.5 3:0.25")},
		{ContentType: "", Body: []byte("1:0.5 3:0.25")},
		{ContentType: "text/csv", Body: nil},
		{ContentType: "text/csv", Body: []byte("1,2,x")},
		{ContentType: "image/png", Body: []byte("abc")},
		{ContentType: "text/csv", Accept: "text/plain", Body: []byte(row)},
		{ContentType: "text/csv", Body: []byte(strings.Repeat("1,", 40) + "1")},
	}
	for _, c := range cases {
		resp, err := p.Invoke(context.Background(), &c)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, "/invocations", bytes.NewReader(c.Body))
		if c.ContentType != "" {
			r.Header.Set("Content-Type", c.ContentType)
		}
		if c.Accept != "" {
			r.Header.Set("Accept", c.Accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		wantBody, _ := io.ReadAll(rec.Body)
		if resp.Status != rec.Code || resp.ContentType != rec.Header().Get("Content-Type") || !bytes.Equal(resp.Body, wantBody) {
			t.Errorf("%s %q: in-process %d %q %q; worker %d %q %q", c.ContentType, c.Body,
				resp.Status, resp.ContentType, resp.Body, rec.Code, rec.Header().Get("Content-Type"), wantBody)
		}
	}
}

func TestEnvironmentConfiguresTheWorker(t *testing.T) {
	p := start(t, "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT=text/csv", "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT=application/json", "MAX_CONTENT_LENGTH=100")
	resp, err := p.Invoke(context.Background(), &runtime.Request{ContentType: "text/csv", Body: []byte(firstLine(t, "input.csv"))})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentType != "application/json" || !bytes.HasPrefix(resp.Body, []byte(`{"predictions": [{"score": `)) {
		t.Errorf("default accept: %q %q", resp.ContentType, resp.Body)
	}
	resp, err = p.Invoke(context.Background(), &runtime.Request{ContentType: "text/csv", Body: bytes.Repeat([]byte("1,"), 60)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("over MAX_CONTENT_LENGTH: status %d %q", resp.Status, resp.Body)
	}
	if _, err := (&Runtime{}).Start(context.Background(), runtime.Spec{ModelDir: modelDir(t), Env: []string{"MAX_CONTENT_LENGTH=lots"}}); err == nil {
		t.Error("a MAX_CONTENT_LENGTH that is no integer started")
	}
}

func TestStartFailsWithoutAModel(t *testing.T) {
	_, err := (&Runtime{}).Start(context.Background(), runtime.Spec{ModelDir: t.TempDir()})
	if !errors.Is(err, xgboost.ErrNoModel) {
		t.Fatalf("empty model dir: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "model"), []byte("not a model"), 0o644)
	if _, err := (&Runtime{}).Start(context.Background(), runtime.Spec{ModelDir: dir}); err == nil || !strings.Contains(err.Error(), "unable to load model") {
		t.Fatalf("garbage model: %v", err)
	}
}

func TestPanicCostsOnlyItsRequest(t *testing.T) {
	p := start(t)
	real := p.pred
	p.pred = func(dst []byte, ct string, has bool, accept string, body []byte) (int, string, []byte) {
		if string(body) == "boom" {
			var m map[string]int
			m["x"] = 1 // a nil-map write: a runtime panic
		}
		return real(dst, ct, has, accept, body)
	}
	_, err := p.Invoke(context.Background(), &runtime.Request{ContentType: "text/csv", Body: []byte("boom")})
	if err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("panicking prediction: %v", err)
	}
	resp, err := p.Invoke(context.Background(), &runtime.Request{ContentType: "text/csv", Body: []byte(firstLine(t, "input.csv"))})
	if err != nil || resp.Status != 200 {
		t.Fatalf("the next request: %v %+v", err, resp)
	}
}

func TestStopEndsTheWorker(t *testing.T) {
	p := start(t)
	if p.Pid() != 0 || p.Addr() != "" {
		t.Errorf("pid %d addr %q", p.Pid(), p.Addr())
	}
	if mb := p.MemoryEstimateMB(); mb <= 0.1 || mb > 4 {
		t.Errorf("memory estimate %.2f MB for a 94 KB model", mb)
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	_ = p.Stop(context.Background()) // twice is fine
	if _, err := p.Invoke(context.Background(), &runtime.Request{Body: []byte("1")}); !errors.Is(err, ErrStopped) {
		t.Fatalf("invoke after stop: %v", err)
	}
	if p.Err() != nil {
		t.Fatal(p.Err())
	}
}

func BenchmarkStart(b *testing.B) {
	dir := modelDir(b)
	rt := &Runtime{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rt.Start(context.Background(), runtime.Spec{ModelDir: dir}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInvoke1Row(b *testing.B) {
	p := start(b)
	req := &runtime.Request{ContentType: "text/csv", Body: []byte(firstLine(b, "input.csv"))}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Invoke(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
