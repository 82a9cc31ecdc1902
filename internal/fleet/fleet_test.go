package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hearth"
	"hearth/internal/clock"
	"hearth/internal/runtime"
	"hearth/internal/runtime/process"
)

var echoBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fleet-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	echoBin = filepath.Join(dir, "echo-worker")
	cmd := exec.Command("go", "build", "-o", echoBin, "hearth/cmd/echo-worker")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build echo-worker:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// dirArtifacts serves every URL from one prepared model directory.
type dirArtifacts struct{ dir string }

func (a dirArtifacts) Fetch(ctx context.Context, url string) (string, error) {
	if strings.Contains(url, "missing") {
		return "", errors.New("no such artifact")
	}
	return a.dir, nil
}

// reports collects deployment reports.
type reports struct {
	mu   sync.Mutex
	list []hearth.Report
	ch   chan hearth.Report
}

func (r *reports) Report(ctx context.Context, rep hearth.Report) {
	r.mu.Lock()
	r.list = append(r.list, rep)
	r.mu.Unlock()
	r.ch <- rep
}

// harness is a fleet on a fake clock with real echo-worker processes.
type harness struct {
	t     *testing.T
	f     *Fleet
	clock *clock.Fake
	rep   *reports
}

func newHarness(t *testing.T, budgetMB int) *harness {
	t.Helper()
	model := t.TempDir()
	if err := os.WriteFile(filepath.Join(model, "model.txt"), []byte("m1"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, clock: clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), rep: &reports{ch: make(chan hearth.Report, 64)}}
	h.f = New(Options{
		Runtime:        &process.Runtime{},
		Artifacts:      dirArtifacts{model},
		Reporter:       h.rep,
		Clock:          h.clock,
		KeepWarm:       5 * time.Minute,
		MemoryBudgetMB: budgetMB,
		StartupTimeout: 10 * time.Second,
		InvokeTimeout:  10 * time.Second,
		ScratchDir:     t.TempDir(),
		AccountID:      "000000000000",
	})
	t.Cleanup(func() { _ = h.f.Close(context.Background()) })
	return h
}

func serverless(mem, maxc, pc int) *hearth.Serverless {
	return &hearth.Serverless{MemorySizeInMB: mem, MaxConcurrency: maxc, ProvisionedConcurrency: pc}
}

func deployment(name string, gen int64, variants ...hearth.Variant) hearth.Deployment {
	return hearth.Deployment{Endpoint: name, ConfigName: name + "-cfg", Generation: gen, Variants: variants}
}

func echoVariant(name string, s *hearth.Serverless, env map[string]string) hearth.Variant {
	return hearth.Variant{Name: name, Weight: 1, Serverless: s, Model: hearth.Model{Name: "m", Image: echoBin, Environment: env}}
}

// deploy deploys d and waits for its report.
func (h *harness) deploy(d hearth.Deployment) hearth.Report {
	h.t.Helper()
	h.f.Deploy(d)
	return h.wait(d.Endpoint)
}

func (h *harness) wait(endpoint string) hearth.Report {
	h.t.Helper()
	select {
	case r := <-h.rep.ch:
		if r.Endpoint != endpoint {
			h.t.Fatalf("report for %s, want %s", r.Endpoint, endpoint)
		}
		return r
	case <-time.After(20 * time.Second):
		h.t.Fatalf("no report for %s", endpoint)
	}
	return hearth.Report{}
}

func (h *harness) mustDeploy(d hearth.Deployment) {
	h.t.Helper()
	if r := h.deploy(d); r.Outcome != hearth.Ready {
		h.t.Fatalf("deploy %s: outcome %v: %s", d.Endpoint, r.Outcome, r.Reason)
	}
}

func (h *harness) invoke(endpoint, body string) (*Response, error) {
	return h.f.Invoke(context.Background(), &Request{Endpoint: endpoint, Request: runtime.Request{Body: []byte(body), ContentType: "text/plain"}})
}

// count returns how many workers of endpoint are in kind/state.
func (h *harness) count(endpoint, kind, state string) int {
	n := 0
	for _, c := range h.f.WorkerCounts() {
		if c.Endpoint == endpoint && (kind == "" || c.Kind == kind) && (state == "" || c.State == state) {
			n += c.Count
		}
	}
	return n
}

// eventually polls cond (real time: it waits on processes, not on the clock).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestProvisionedWorkersServeWarm(t *testing.T) {
	h := newHarness(t, 0)
	h.mustDeploy(deployment("ep", 1, echoVariant("AllTraffic", serverless(2048, 4, 2), nil)))
	if got := h.count("ep", "provisioned", "idle"); got != 2 {
		t.Fatalf("idle provisioned workers after deploy = %d, want 2", got)
	}
	for i := 0; i < 5; i++ {
		resp, err := h.invoke("ep", "hello")
		if err != nil {
			t.Fatalf("invoke %d: %v", i, err)
		}
		if resp.Served != WarmProvisioned {
			t.Fatalf("invoke %d served %v, want warm-provisioned", i, resp.Served)
		}
		if !strings.Contains(string(resp.Body), `"model":"m1"`) || resp.Variant != "AllTraffic" {
			t.Fatalf("invoke %d: variant %q body %s", i, resp.Variant, resp.Body)
		}
	}
	if got := h.count("ep", "on-demand", ""); got != 0 {
		t.Fatalf("on-demand workers = %d, want 0", got)
	}
}

func TestSpilloverToOnDemandThenWarm(t *testing.T) {
	h := newHarness(t, 0)
	h.mustDeploy(deployment("ep", 1, echoVariant("AllTraffic", serverless(1024, 3, 1), nil)))

	// Hold the provisioned worker busy; the next request spills over cold.
	held := make(chan error, 1)
	go func() { _, err := h.invoke("ep", "sleep 400ms"); held <- err }()
	eventually(t, "provisioned worker busy", func() bool { return h.count("ep", "provisioned", "busy") == 1 })
	resp, err := h.invoke("ep", "x")
	if err != nil || resp.Served != Cold {
		t.Fatalf("spillover: served %v err %v, want cold", served(resp), err)
	}
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	// Both idle now: the provisioned worker is preferred.
	if resp, err := h.invoke("ep", "x"); err != nil || resp.Served != WarmProvisioned {
		t.Fatalf("after idle: served %v err %v, want warm-provisioned", served(resp), err)
	}
	// Busy provisioned again: the warm on-demand worker takes the spill.
	go func() { _, err := h.invoke("ep", "sleep 400ms"); held <- err }()
	eventually(t, "provisioned worker busy", func() bool { return h.count("ep", "provisioned", "busy") == 1 })
	if resp, err := h.invoke("ep", "x"); err != nil || resp.Served != WarmOnDemand {
		t.Fatalf("second spill: served %v err %v, want warm-on-demand", served(resp), err)
	}
	<-held
}

func served(r *Response) string {
	if r == nil {
		return "nothing"
	}
	return r.Served.String()
}

func TestThrottlesExactlyAtMaxConcurrency(t *testing.T) {
	h := newHarness(t, 0)
	const maxConc = 4
	h.mustDeploy(deployment("ep", 1, echoVariant("AllTraffic", serverless(1024, maxConc, 1), nil)))
	const n = 12
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, throttled := 0, 0
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := h.invoke("ep", "sleep 1500ms")
			var fe *Error
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.As(err, &fe) && fe.Kind == Throttle:
				throttled++
				if !strings.Contains(fe.Message, "ep") || fe.MaxConc != maxConc {
					t.Errorf("throttle error %q (MaxConc %d) should name the endpoint and MaxConcurrency %d", fe.Message, fe.MaxConc, maxConc)
				}
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok != maxConc || throttled != n-maxConc {
		t.Fatalf("ok=%d throttled=%d, want %d and %d", ok, throttled, maxConc, n-maxConc)
	}
	if got := h.count("ep", "", ""); got != maxConc {
		t.Fatalf("workers after the burst = %d, want %d (one per concurrent request)", got, maxConc)
	}
}

func TestOnDemandWorkerStopsAfterKeepWarm(t *testing.T) {
	h := newHarness(t, 0)
	h.mustDeploy(deployment("ep", 1, echoVariant("AllTraffic", serverless(1024, 2, 0), nil)))
	// The deploy proved the model starts with one on-demand worker; it is warm.
	if resp, err := h.invoke("ep", "x"); err != nil || resp.Served != WarmOnDemand {
		t.Fatalf("first request: served %v err %v, want warm-on-demand", served(resp), err)
	}
	h.clock.Advance(5*time.Minute - time.Second)
	if got := h.count("ep", "on-demand", "idle"); got != 1 {
		t.Fatalf("idle on-demand workers just before keep-warm = %d, want 1", got)
	}
	h.clock.Advance(time.Second)
	eventually(t, "worker stopped after keep-warm", func() bool { return h.count("ep", "", "") == 0 })
	if resp, err := h.invoke("ep", "x"); err != nil || resp.Served != Cold {
		t.Fatalf("after keep-warm: served %v err %v, want cold", served(resp), err)
	}
	// Each request restarts the keep-warm period.
	h.clock.Advance(4 * time.Minute)
	if _, err := h.invoke("ep", "x"); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(4 * time.Minute)
	if got := h.count("ep", "on-demand", "idle"); got != 1 {
		t.Fatalf("worker used 4 minutes ago should still be warm; idle = %d", got)
	}
}

func TestWorkerNeverStoppedWhileBusy(t *testing.T) {
	h := newHarness(t, 0)
	h.mustDeploy(deployment("ep", 1, echoVariant("AllTraffic", serverless(1024, 1, 0), nil)))
	done := make(chan error, 1)
	go func() { _, err := h.invoke("ep", "sleep 300ms"); done <- err }()
	eventually(t, "worker busy", func() bool { return h.count("ep", "on-demand", "busy") == 1 })
	h.clock.Advance(time.Hour)
	if err := <-done; err != nil {
		t.Fatalf("request on a worker past keep-warm failed: %v", err)
	}
	if got := h.count("ep", "on-demand", "idle"); got != 1 {
		t.Fatalf("worker should be idle and warm after finishing; idle = %d", got)
	}
}

func TestCrashCostsOneRequestAndProvisionedRefills(t *testing.T) {
	h := newHarness(t, 0)
	h.mustDeploy(deployment("ep", 1, echoVariant("AllTraffic", serverless(1024, 2, 1), nil)))
	first, err := h.invoke("ep", "x")
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.invoke("ep", "crash")
	var fe *Error
	if !errors.As(err, &fe) || fe.Kind != WorkerFailure {
		t.Fatalf("crash: err %v, want a worker failure", err)
	}
	eventually(t, "provisioned worker replaced", func() bool { return h.count("ep", "provisioned", "idle") == 1 })
	resp, err := h.invoke("ep", "x")
	if err != nil || resp.Served != WarmProvisioned {
		t.Fatalf("after crash: served %v err %v", served(resp), err)
	}
	if pid := pidOf(resp.Body); pid == pidOf(first.Body) {
		t.Fatalf("provisioned worker pid %s unchanged after crash", pid)
	}
}

func pidOf(body []byte) string {
	s := string(body)
	i := strings.Index(s, `"pid":`)
	if i < 0 {
		return ""
	}
	s = s[i+6:]
	return s[:strings.IndexAny(s, ",}")]
}

func TestMemoryBudgetEvictsIdleOnDemandLRU(t *testing.T) {
	h := newHarness(t, 4096)
	h.mustDeploy(deployment("a", 1, echoVariant("AllTraffic", serverless(2048, 2, 0), nil)))
	h.mustDeploy(deployment("b", 1, echoVariant("AllTraffic", serverless(2048, 2, 0), nil)))
	// a and b each hold one warm on-demand worker: 4096 MB, the whole budget.
	if got := h.f.MemoryUsedMB(); got != 4096 {
		t.Fatalf("memory used = %d, want 4096", got)
	}
	h.clock.Advance(time.Second)
	if _, err := h.invoke("b", "x"); err != nil { // b is now the most recently used
		t.Fatal(err)
	}
	// A second concurrent request on b needs a new worker: a's idle one goes.
	done := make(chan error, 1)
	go func() { _, err := h.invoke("b", "sleep 300ms"); done <- err }()
	eventually(t, "b busy", func() bool { return h.count("b", "", "busy") == 1 })
	resp, err := h.invoke("b", "x")
	if err != nil || resp.Served != Cold {
		t.Fatalf("b cold start under budget: served %v err %v", served(resp), err)
	}
	<-done
	if got := h.count("a", "", ""); got != 0 {
		t.Fatalf("a's idle worker should have been evicted; a has %d", got)
	}
	if got := h.f.MemoryUsedMB(); got > 4096 {
		t.Fatalf("memory used %d exceeds the 4096 MB budget", got)
	}
	// Provisioned concurrency beyond the budget is refused up front.
	err = h.f.Admit(deployment("c", 1, echoVariant("AllTraffic", serverless(2048, 4, 3), nil)))
	if err == nil || !strings.Contains(err.Error(), "memory budget") {
		t.Fatalf("Admit over budget: %v", err)
	}
}

func TestUpdateBringsNewGenerationUpBeforeDraining(t *testing.T) {
	h := newHarness(t, 0)
	h.mustDeploy(deployment("ep", 1, echoVariant("AllTraffic", serverless(1024, 2, 1), map[string]string{"GEN": "1"})))
	stop := make(chan struct{})
	var failures, total int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, err := h.invoke("ep", "x")
			total++
			if err != nil {
				failures++
				t.Errorf("request during update failed: %v", err)
			}
		}
	}()
	h.mustDeploy(deployment("ep", 2, echoVariant("AllTraffic", serverless(1024, 2, 1), map[string]string{"GEN": "2"})))
	resp, err := h.invoke("ep", "env GEN")
	close(stop)
	wg.Wait()
	if err != nil || string(resp.Body) != "2" {
		t.Fatalf("after update: body %q err %v, want generation 2", body(resp), err)
	}
	if total == 0 || failures != 0 {
		t.Fatalf("%d of %d requests failed during the update", failures, total)
	}
	eventually(t, "old generation drained", func() bool { return h.count("ep", "provisioned", "") == 1 })
}

func body(r *Response) string {
	if r == nil {
		return ""
	}
	return string(r.Body)
}

func TestRemoveLetsInFlightFinish(t *testing.T) {
	h := newHarness(t, 0)
	h.mustDeploy(deployment("ep", 1, echoVariant("AllTraffic", serverless(1024, 2, 1), nil)))
	done := make(chan error, 1)
	go func() { _, err := h.invoke("ep", "sleep 300ms"); done <- err }()
	eventually(t, "busy", func() bool { return h.count("ep", "", "busy") == 1 })
	h.f.Remove("ep", 1)
	if _, err := h.invoke("ep", "x"); err == nil {
		t.Fatal("a new request after delete should fail")
	}
	if err := <-done; err != nil {
		t.Fatalf("in-flight request failed during delete: %v", err)
	}
	if r := h.wait("ep"); r.Outcome != hearth.Removed {
		t.Fatalf("outcome %v, want removed", r.Outcome)
	}
	eventually(t, "workers gone", func() bool { return h.count("ep", "", "") == 0 })
}

func TestInstanceVariantsRouteByWeightAndTarget(t *testing.T) {
	h := newHarness(t, 0)
	a := echoVariant("A", nil, map[string]string{"V": "a"})
	a.InstanceCount, a.Weight = 1, 1
	b := echoVariant("B", nil, map[string]string{"V": "b"})
	b.InstanceCount, b.Weight = 2, 0
	h.mustDeploy(deployment("ep", 1, a, b))
	if got := h.count("ep", "provisioned", "idle"); got != 3 {
		t.Fatalf("instance workers = %d, want 3", got)
	}
	for i := 0; i < 10; i++ {
		resp, err := h.invoke("ep", "env V")
		if err != nil || string(resp.Body) != "a" || resp.Variant != "A" {
			t.Fatalf("weighted request %d: %q variant %q err %v", i, body(resp), served(resp), err)
		}
	}
	resp, err := h.f.Invoke(context.Background(), &Request{Endpoint: "ep", TargetVariant: "B", Request: runtime.Request{Body: []byte("env V")}})
	if err != nil || string(resp.Body) != "b" || resp.Variant != "B" {
		t.Fatalf("targeted request: %q err %v", body(resp), err)
	}
	_, err = h.f.Invoke(context.Background(), &Request{Endpoint: "ep", TargetVariant: "C", Request: runtime.Request{Body: []byte("x")}})
	var fe *Error
	if !errors.As(err, &fe) || fe.Kind != NoVariant {
		t.Fatalf("unknown target variant: %v", err)
	}
}

func TestFailedDeploymentsSayWhy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    map[string]string
		url    string
		reason string
	}{
		{"worker exits at start", map[string]string{"ECHO_EXIT_AT_START": "7"}, "", "exit status 7"},
		{"artifact missing", nil, "file:///missing/model.tar.gz", "Failed to download model data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0)
			v := echoVariant("AllTraffic", serverless(1024, 2, 1), tc.env)
			v.Model.ModelDataURL = tc.url
			r := h.deploy(deployment("ep", 1, v))
			if r.Outcome != hearth.Failed || !strings.Contains(r.Reason, tc.reason) {
				t.Fatalf("outcome %v reason %q, want failed with %q", r.Outcome, r.Reason, tc.reason)
			}
			if got := h.count("ep", "", ""); got != 0 {
				t.Fatalf("%d workers left after a failed deploy", got)
			}
		})
	}
}

func TestModelErrorsPassThrough(t *testing.T) {
	h := newHarness(t, 0)
	h.mustDeploy(deployment("ep", 1, echoVariant("AllTraffic", serverless(1024, 2, 1), nil)))
	_, err := h.invoke("ep", "status 400")
	var fe *Error
	if !errors.As(err, &fe) || fe.Kind != ModelFailure || fe.ModelStatus != 400 || string(fe.ModelBody) != "status 400" {
		t.Fatalf("model 400: %#v", err)
	}
	// The worker is fine and stays.
	if resp, err := h.invoke("ep", "x"); err != nil || resp.Served != WarmProvisioned {
		t.Fatalf("after model error: served %v err %v", served(resp), err)
	}
}

func TestCapacityChangeResizesInPlace(t *testing.T) {
	h := newHarness(t, 0)
	h.mustDeploy(deployment("ep", 1, echoVariant("AllTraffic", serverless(1024, 5, 1), nil)))
	first, err := h.invoke("ep", "x")
	if err != nil {
		t.Fatal(err)
	}
	// Scale out 1 → 3: warm workers exist before the change is reported.
	h.mustDeploy(deployment("ep", 2, echoVariant("AllTraffic", serverless(1024, 5, 3), nil)))
	if got := h.count("ep", "provisioned", "idle"); got != 3 {
		t.Fatalf("idle provisioned after scale-out = %d, want 3", got)
	}
	// The original worker kept running: no restart for a capacity change.
	pids := map[string]bool{}
	for i := 0; i < 3; i++ {
		go h.invoke("ep", "sleep 200ms")
	}
	eventually(t, "3 busy", func() bool { return h.count("ep", "provisioned", "busy") == 3 })
	resp, err := h.invoke("ep", "x") // spills to on-demand: all 3 provisioned are busy
	if err != nil || resp.Served != Cold {
		t.Fatalf("4th concurrent request: %v %v", served(resp), err)
	}
	eventually(t, "idle again", func() bool { return h.count("ep", "provisioned", "idle") == 3 })
	for i := 0; i < 6; i++ {
		r, _ := h.invoke("ep", "x")
		if r != nil && r.Served == WarmProvisioned {
			pids[pidOf(r.Body)] = true
		}
	}
	if !pids[pidOf(first.Body)] {
		t.Fatalf("the first provisioned worker (pid %s) was replaced by a capacity change; saw %v", pidOf(first.Body), pids)
	}
	// Scale in 3 → 1 while one provisioned worker is busy: it finishes its
	// request, then serves on as on-demand; idle surplus stops at once.
	done := make(chan error, 1)
	go func() { _, err := h.invoke("ep", "sleep 300ms"); done <- err }()
	eventually(t, "busy", func() bool { return h.count("ep", "provisioned", "busy") == 1 })
	h.mustDeploy(deployment("ep", 3, echoVariant("AllTraffic", serverless(1024, 5, 1), nil)))
	if err := <-done; err != nil {
		t.Fatalf("request on a worker removed from provisioned concurrency failed: %v", err)
	}
	eventually(t, "one provisioned", func() bool { return h.count("ep", "provisioned", "") == 1 })
}

func TestMemoryUseReadsWorkersResidentMemory(t *testing.T) {
	h := newHarness(t, 0)
	h.mustDeploy(deployment("ep", 1, echoVariant("AllTraffic", serverless(2048, 2, 2), nil)))
	use := h.f.MemoryUse()
	if len(use) != 1 || use[0].Endpoint != "ep" || use[0].SizedMB != 4096 {
		t.Fatalf("memory use %+v", use)
	}
	// Two small Go processes: some megabytes, far below their 4 GiB.
	if use[0].UsedMB < 1 || use[0].UsedMB > 512 {
		t.Fatalf("resident memory of two echo workers = %.1f MB", use[0].UsedMB)
	}
}
