package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"hearth"
	"hearth/internal/image"
	"hearth/internal/runtime"
)

var errMemory = errors.New("memory budget exhausted")

// startWorker starts one worker for p and waits until it answers /ping.
// The worker is returned busy when forRequest is set (it belongs to the
// request that caused the cold start), else starting; the caller moves it on.
func (f *Fleet) startWorker(ctx context.Context, p *pool, provisioned, forRequest bool) (*worker, error) {
	mem := p.variant.MemoryMB()
	f.mu.Lock()
	if f.closed || p.gen.draining {
		f.mu.Unlock()
		return nil, errors.New("deployment is draining")
	}
	if f.opts.MemoryBudgetMB > 0 && f.memUsedMB+mem > f.opts.MemoryBudgetMB {
		f.evictLocked(mem)
		if f.memUsedMB+mem > f.opts.MemoryBudgetMB {
			f.mu.Unlock()
			return nil, fmt.Errorf("%w: %d MB in use of %d MB, %d MB needed", errMemory, f.memUsedMB, f.opts.MemoryBudgetMB, mem)
		}
	}
	f.memUsedMB += mem
	f.nextID++
	w := &worker{id: f.nextID, pool: p, provisioned: provisioned, state: stateStarting, memMB: mem}
	p.workers = append(p.workers, w)
	f.mu.Unlock()

	fail := func(err error) (*worker, error) {
		f.mu.Lock()
		f.removeLocked(w)
		f.mu.Unlock()
		if w.proc != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = w.proc.Stop(stopCtx)
			cancel()
		}
		return nil, err
	}
	spec, err := f.spec(p, w)
	if err != nil {
		return fail(err)
	}
	t0 := time.Now()
	proc, err := f.opts.Runtime.Start(ctx, spec)
	if err != nil {
		return fail(err)
	}
	t1 := time.Now()
	w.proc = proc
	w.base = "http://" + proc.Addr()
	w.conn.addr = proc.Addr()
	if err := f.waitReady(ctx, w); err != nil {
		return fail(err)
	}
	f.log.Debug("worker ready", "endpoint", p.endpoint, "variant", p.variant.Name, "worker", w.id,
		"provisioned", provisioned, "start", t1.Sub(t0), "ready", time.Since(t1))
	f.mu.Lock()
	if w.state == stateDead || p.gen.draining && !forRequest {
		f.mu.Unlock()
		return fail(errors.New("deployment is draining"))
	}
	if forRequest {
		w.state = stateBusy
	}
	f.mu.Unlock()
	go f.watch(w)
	return w, nil
}

// spec builds the runtime spec of a worker per the SageMaker container
// contract: `<image> serve`, SAGEMAKER_BIND_TO_PORT, SM_MODEL_DIR and the
// model's environment.
func (f *Fleet) spec(p *pool, w *worker) (runtime.Spec, error) {
	scratch := filepath.Join(f.opts.ScratchDir, "worker-"+strconv.Itoa(w.id))
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return runtime.Spec{}, fmt.Errorf("worker scratch dir: %w", err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + scratch,
		"TMPDIR=" + scratch,
		"SAGEMAKER_REGION=" + f.opts.Region,
		"AWS_REGION=" + f.opts.Region,
		"SAGEMAKER_ENDPOINT_NAME=" + p.endpoint,
		"SAGEMAKER_VARIANT_NAME=" + p.variant.Name,
	}
	for k, v := range p.variant.Model.Environment {
		env = append(env, k+"="+v)
	}
	s := runtime.Spec{
		Name:      fmt.Sprintf("%s-%s-%d", p.endpoint, p.variant.Name, w.id),
		Env:       env,
		Dir:       scratch,
		ModelDir:  p.modelDir,
		MemoryMB:  p.variant.MemoryMB(),
		CPUWeight: 100 * p.variant.MemoryMB() / 1024,
	}
	prog, err := f.programSpec(p.variant)
	if err != nil {
		return runtime.Spec{}, err
	}
	s.Path, s.Args, s.Standby, s.Image = prog.Path, prog.Args, prog.Standby, prog.Image
	s.NetworkIsolation = p.variant.Model.NetworkIsolation
	return s, nil
}

// programSpec says what program a variant's workers run: the built-in
// runtime (`hearth worker xgboost serve`, which speaks the standby
// hand-off) or the image's executable with `serve`.
func (f *Fleet) programSpec(v hearth.Variant) (runtime.Spec, error) {
	ref, err := image.Resolve(v.Model.Image)
	if err != nil {
		return runtime.Spec{}, err
	}
	if ref.Kind == image.XGBoost {
		return runtime.Spec{Path: f.opts.SelfPath, Args: []string{"worker", "xgboost", "serve"}, Standby: true}, nil
	}
	if ref.Kind == image.Container {
		return runtime.Spec{Image: ref.Image, Args: []string{"serve"}}, nil
	}
	return runtime.Spec{Path: ref.Path, Args: []string{"serve"}}, nil
}

// waitReady polls /ping until 200, the process exits, or the startup
// timeout passes.
func (f *Fleet) waitReady(ctx context.Context, w *worker) error {
	ctx, cancel := context.WithTimeout(ctx, f.opts.StartupTimeout)
	defer cancel()
	// Poll every 250 µs for the first 50 ms — cold starts are measured in
	// milliseconds — then back off to 20 ms.
	delay, polls := 250*time.Microsecond, 0
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.base+"/ping", nil)
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		resp, err := f.client.Do(req.WithContext(pctx))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		pcancel()
		if err == nil && resp.StatusCode == http.StatusOK {
			return nil
		}
		select {
		case <-w.proc.Done():
			out := strings.TrimSpace(w.proc.Output())
			reason := fmt.Sprintf("worker exited before answering /ping (%s)", runtime.ExitReason(w.proc.Err()))
			if out != "" {
				reason += ": " + lastLines(out, 5)
			}
			return errors.New(reason)
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("worker did not answer /ping with 200 within %s", f.opts.StartupTimeout)
			}
			return ctx.Err()
		case <-time.After(delay):
		}
		if polls++; polls > 200 && delay < 20*time.Millisecond {
			delay *= 2
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// watch waits for the worker's process to exit and cleans up after it; a
// provisioned worker that dies is replaced at once.
func (f *Fleet) watch(w *worker) {
	<-w.proc.Done()
	f.mu.Lock()
	if w.state == stateDead {
		f.mu.Unlock()
		return
	}
	prior, stopping := w.state, w.stopping
	p := w.pool
	f.removeLocked(w)
	replace := w.provisioned && !p.gen.draining && p.provisionedCount() < p.alwaysWarm()
	f.mu.Unlock()
	if !stopping {
		f.log.Warn("worker exited", "endpoint", p.endpoint, "variant", p.variant.Name, "worker", w.id,
			"provisioned", w.provisioned, "state", prior.String(), "how", runtime.ExitReason(w.proc.Err()))
	}
	if replace {
		f.replenish(p)
	}
}

// replenish refills the pool's provisioned workers in the background.
func (f *Fleet) replenish(p *pool) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.bg.Add(1)
	f.mu.Unlock()
	go func() {
		defer f.bg.Done()
		if err := f.fill(context.Background(), p); err != nil {
			f.log.Error("replacing provisioned worker failed", "endpoint", p.endpoint, "variant", p.variant.Name, "err", err)
		}
	}()
}

// fill starts provisioned workers until the pool has its count, and waits
// for them to be healthy. Workers already being started by another fill
// are counted, so concurrent fills never overshoot.
func (f *Fleet) fill(ctx context.Context, p *pool) error {
	f.mu.Lock()
	missing := p.alwaysWarm() - p.provisionedCount() - p.replenishing
	if f.closed || p.gen.draining || missing <= 0 {
		f.mu.Unlock()
		return nil
	}
	p.replenishing += missing
	f.mu.Unlock()
	errs := make(chan error, missing)
	for i := 0; i < missing; i++ {
		go func() {
			sctx, cancel := context.WithTimeout(ctx, f.opts.StartupTimeout)
			defer cancel()
			w, err := f.startWorker(sctx, p, true, false)
			f.mu.Lock()
			p.replenishing--
			if err != nil {
				p.lastFailure = err.Error()
			} else {
				f.idleLocked(w)
			}
			f.mu.Unlock()
			errs <- err
		}()
	}
	var all []error
	for i := 0; i < missing; i++ {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

// removeLocked forgets a worker and returns its memory.
func (f *Fleet) removeLocked(w *worker) {
	if w.state == stateDead {
		return
	}
	if w.state == stateBusy && w.provisioned {
		w.pool.provBusy--
	}
	if w.state != stateBusy {
		// A busy worker's connection belongs to its request, which
		// closes it on release.
		w.conn.close()
	}
	w.state = stateDead
	if w.expiry != nil {
		w.expiry.Stop()
	}
	f.memUsedMB -= w.memMB
	p := w.pool
	for i, x := range p.workers {
		if x == w {
			p.workers = append(p.workers[:i], p.workers[i+1:]...)
			break
		}
	}
	f.checkDrainedLocked(p.gen)
}

// stopLocked stops an idle worker.
func (f *Fleet) stopLocked(w *worker) {
	if w.state == stateDead {
		return
	}
	proc := w.proc
	w.stopping = true
	f.removeLocked(w)
	if proc != nil {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = proc.Stop(ctx)
		}()
	}
}

// idleLocked makes w available. On-demand workers get a keep-warm deadline.
func (f *Fleet) idleLocked(w *worker) {
	if w.state == stateDead {
		return
	}
	p := w.pool
	if p.gen.draining {
		f.stopLocked(w)
		return
	}
	// Hand the worker straight to a queued request, if any.
	for len(p.waiters) > 0 {
		ch := p.waiters[0]
		p.waiters = p.waiters[1:]
		w.state = stateBusy
		p.inflight++
		if w.provisioned {
			p.provBusy++
		}
		ch <- w
		return
	}
	w.state = stateIdle
	w.lastUsed = f.opts.Clock.Now()
	if !w.provisioned {
		if w.expiry != nil {
			w.expiry.Stop()
		}
		w.expiry = f.opts.Clock.AfterFunc(f.opts.KeepWarm, func() { f.expire(w) })
	}
}

// expire stops an on-demand worker whose keep-warm period passed idle.
func (f *Fleet) expire(w *worker) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if w.state != stateIdle {
		return
	}
	if f.opts.Clock.Now().Sub(w.lastUsed) < f.opts.KeepWarm {
		return
	}
	f.stopLocked(w)
}

// evictLocked stops idle on-demand workers, least recently used first,
// until need MB fit the budget.
func (f *Fleet) evictLocked(need int) {
	var idle []*worker
	for _, es := range f.endpoints {
		for _, g := range []*generation{es.active, es.pending} {
			if g == nil {
				continue
			}
			for _, p := range g.pools {
				for _, w := range p.workers {
					if w.state == stateIdle && !w.provisioned {
						idle = append(idle, w)
					}
				}
			}
		}
	}
	sort.Slice(idle, func(i, j int) bool { return idle[i].lastUsed.Before(idle[j].lastUsed) })
	for _, w := range idle {
		if f.memUsedMB+need <= f.opts.MemoryBudgetMB {
			return
		}
		f.log.Info("evicting idle worker for memory", "endpoint", w.pool.endpoint, "variant", w.pool.variant.Name, "worker", w.id)
		f.stopLocked(w)
	}
}
