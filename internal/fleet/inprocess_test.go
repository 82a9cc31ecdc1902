package fleet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hearth"
	"hearth/internal/clock"
	"hearth/internal/runtime"
	"hearth/internal/runtime/inprocess"
	"hearth/internal/runtime/process"
)

const xgbImage = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

// newBuiltinHarness is a fleet whose built-in XGBoost workers run on
// builtin, serving the abalone regression model.
func newBuiltinHarness(t *testing.T, budgetMB int, builtin runtime.Runtime) *harness {
	t.Helper()
	b, err := os.ReadFile("../xgboost/testdata/abalone-regression/xgboost-model")
	if err != nil {
		t.Fatal(err)
	}
	model := t.TempDir()
	if err := os.WriteFile(filepath.Join(model, "xgboost-model"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, clock: clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), rep: &reports{ch: make(chan hearth.Report, 64)}}
	h.f = New(Options{
		Runtime: &process.Runtime{}, Builtin: builtin, Artifacts: dirArtifacts{model}, Reporter: h.rep, Clock: h.clock,
		KeepWarm: 5 * time.Minute, MemoryBudgetMB: budgetMB, StartupTimeout: 10 * time.Second, InvokeTimeout: 10 * time.Second,
		ScratchDir: t.TempDir(), AccountID: "000000000000",
	})
	t.Cleanup(func() { _ = h.f.Close(context.Background()) })
	return h
}

func xgbVariant(s *hearth.Serverless) hearth.Variant {
	return hearth.Variant{Name: "AllTraffic", Weight: 1, Serverless: s, Model: hearth.Model{Name: "m", Image: xgbImage, ModelDataURL: "file:///model.tar.gz"}}
}

const abaloneRow = "0.0915662274,0.208318546,0.636386573,0.207758009,0.743268132,0.298713923,0.265820891,1"

func predict(t *testing.T, h *harness, endpoint string) *Response {
	t.Helper()
	resp, err := h.f.Invoke(context.Background(), &Request{Endpoint: endpoint, Request: runtime.Request{ContentType: "text/csv", Body: []byte(abaloneRow)}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := strconv.ParseFloat(strings.TrimSpace(string(resp.Body)), 64); err != nil || v < 8.456 || v > 8.458 {
		t.Fatalf("prediction %q, want 8.45691204", resp.Body)
	}
	return resp
}

func TestInProcessWorkersKeepTheFleetsRules(t *testing.T) {
	h := newBuiltinHarness(t, 4096, &inprocess.Runtime{})
	pc := deployment("pc", 1, xgbVariant(serverless(1024, 2, 1)))
	if err := h.f.Admit(pc); err != nil {
		t.Fatal(err)
	}
	h.mustDeploy(pc)
	if resp := predict(t, h, "pc"); resp.Served != WarmProvisioned {
		t.Fatalf("served %v, want warm-provisioned", resp.Served)
	}
	// The budget is charged the variant's MemorySizeInMB; the memory
	// metric is the model's estimated size, since there is no process.
	if got := h.f.MemoryUsedMB(); got != 1024 {
		t.Fatalf("memory charged %d MB, want 1024", got)
	}
	mu := h.f.MemoryUse()
	if len(mu) != 1 || mu[0].SizedMB != 1024 || mu[0].UsedMB <= 0 || mu[0].UsedMB > 4 {
		t.Fatalf("memory use %+v, want ~0.3 MB used of 1024", mu)
	}
	if urls := h.f.WorkerURLs("pc"); len(urls) != 0 {
		t.Fatalf("in-process workers have no URL: %v", urls)
	}

	// On demand: the deploy's worker is warm, keep-warm stops it, the next
	// request starts one cold.
	h.mustDeploy(deployment("od", 1, xgbVariant(serverless(2048, 1, 0))))
	if resp := predict(t, h, "od"); resp.Served != WarmOnDemand {
		t.Fatalf("served %v, want warm-on-demand", resp.Served)
	}
	if got := h.f.MemoryUsedMB(); got != 1024+2048 {
		t.Fatalf("memory charged %d MB, want 3072", got)
	}
	h.clock.Advance(5 * time.Minute)
	eventually(t, "on-demand worker stopped after keep-warm", func() bool { return h.count("od", "", "") == 0 })
	if got := h.f.MemoryUsedMB(); got != 1024 {
		t.Fatalf("memory charged %d MB after keep-warm, want 1024", got)
	}
	if resp := predict(t, h, "od"); resp.Served != Cold {
		t.Fatalf("served %v, want cold", resp.Served)
	}
	// A worker inside the server has no working directory to make on its
	// cold start (a process worker gets one under ScratchDir).
	if ents, err := os.ReadDir(h.f.opts.ScratchDir); err != nil || len(ents) != 0 {
		t.Fatalf("scratch dir holds %v (%v), want nothing for in-process workers", ents, err)
	}
	// Another endpoint's on-demand worker does not fit next to it (1024 +
	// 2048 of 4096 held): the idle one is evicted.
	h.mustDeploy(deployment("od2", 1, xgbVariant(serverless(2048, 1, 0))))
	predict(t, h, "od2")
	eventually(t, "idle on-demand worker evicted", func() bool { return h.count("od", "", "") == 0 })
	if got := h.f.MemoryUsedMB(); got != 1024+2048 {
		t.Fatalf("memory charged %d MB, want 3072", got)
	}
}

// failingRuntime wraps the in-process runtime so that a request whose
// body is "fail" fails as a recovered prediction panic does.
type failingRuntime struct {
	inprocess.Runtime
	starts atomic.Int32
}

type failingProcess struct{ *inprocess.Process }

func (r *failingRuntime) Start(ctx context.Context, s runtime.Spec) (runtime.Process, error) {
	r.starts.Add(1)
	p, err := r.Runtime.Start(ctx, s)
	if err != nil {
		return nil, err
	}
	return failingProcess{p.(*inprocess.Process)}, nil
}

func (p failingProcess) Invoke(ctx context.Context, req *runtime.Request) (*runtime.Response, error) {
	if string(req.Body) == "fail" {
		return nil, errors.New("the prediction panicked: boom")
	}
	return p.Process.Invoke(ctx, req)
}

func TestInProcessFailureCostsOneRequest(t *testing.T) {
	rt := &failingRuntime{}
	h := newBuiltinHarness(t, 0, rt)
	h.mustDeploy(deployment("pc", 1, xgbVariant(serverless(1024, 2, 1))))
	_, err := h.f.Invoke(context.Background(), &Request{Endpoint: "pc", Request: runtime.Request{ContentType: "text/csv", Body: []byte("fail")}})
	var fe *Error
	if !errors.As(err, &fe) || fe.Kind != WorkerFailure || !strings.Contains(fe.Message, "panicked") {
		t.Fatalf("failed prediction: %v", err)
	}
	// The worker is replaced, as a crashed one is, and the next request
	// is served.
	eventually(t, "provisioned worker replaced", func() bool { return rt.starts.Load() == 2 && h.count("pc", "provisioned", "idle") == 1 })
	predict(t, h, "pc")
}
