package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"hearth"
	"hearth/internal/clock"
	"hearth/internal/runtime"
)

// poolRunner carries out one Pool's actions: it owns the pool's lock, its
// workers' processes and connections, the keep-warm timer and the queued
// requests. Every change to the pool goes through step, which applies an
// event under the lock and then executes the resulting actions after
// releasing it, so no process start, stop or network call happens under
// a lock.
type poolRunner struct {
	f          *Fleet
	gen        *generation
	endpoint   string
	generation int64 // the deployment generation it was made for
	modelDir   string
	obs        VariantObserver // nil without an Options.Observer

	mu      sync.Mutex
	variant hearth.Variant // capacity and weight change on resize
	pool    *Pool
	workers map[WorkerID]*worker
	waiters map[RequestID]chan *worker
	nextReq RequestID
	timer   clock.Timer
	timerAt time.Time
	drained bool
}

// worker is one running (or starting) model server.
type worker struct {
	id      WorkerID
	pr      *poolRunner
	variant hearth.Variant // as it was when the worker was made
	name    string         // <variant>/<id>, as SageMaker names log streams
	// warm is the memory class the worker was started in (always-warm
	// workers draw on their pool's reservation).
	warm  bool
	memMB int

	proc    runtime.Process // set once started
	conn    workerConn      // used only by whoever holds the worker
	scratch string          // its working directory, removed when it exits
	output  io.WriteCloser  // its log stream, closed when it exits
	started time.Time       // when its process was started

	mu       sync.Mutex
	memHeld  bool
	stopping bool // stopped on purpose: its exit is not a crash
	exited   bool // its process has ended (guarded by pr.mu)
}

// plan is what step resolved under the lock, executed after it.
type plan struct {
	start   []*worker
	stop    []*worker
	hand    []handTo
	refuse  []chan *worker
	gauge   bool
	busy    int
	pc      int
	drained bool
}

type handTo struct {
	ch chan *worker
	w  *worker
}

func newPoolRunner(f *Fleet, g *generation, v hearth.Variant, modelDir string) *poolRunner {
	cfg := poolConfig(v, f.opts.KeepWarm)
	pr := &poolRunner{
		f: f, gen: g, endpoint: g.dep.Endpoint, generation: g.dep.Generation, modelDir: modelDir, variant: v,
		pool: NewPool(cfg), workers: map[WorkerID]*worker{}, waiters: map[RequestID]chan *worker{},
	}
	if f.opts.Observer != nil {
		pr.obs = f.opts.Observer.Variant(pr.endpoint, v.Name)
	}
	return pr
}

func poolConfig(v hearth.Variant, keepWarm time.Duration) PoolConfig {
	if s := v.Serverless; s != nil {
		return PoolConfig{Serverless: true, AlwaysWarm: s.ProvisionedConcurrency, MaxConcurrency: s.MaxConcurrency, KeepWarm: keepWarm}
	}
	return PoolConfig{AlwaysWarm: v.InstanceCount, MaxConcurrency: v.InstanceCount, KeepWarm: keepWarm,
		QueueLimit: 64 * max(1, v.InstanceCount)}
}

// step applies one event to the pool and carries out what it asks.
func (pr *poolRunner) step(event func(p *Pool, now time.Time) Actions) {
	pr.mu.Lock()
	a := event(pr.pool, pr.f.opts.Clock.Now())
	pl := pr.resolveLocked(a)
	pr.mu.Unlock()
	pr.exec(pl)
}

// resolveLocked turns actions into a plan of workers and channels, and
// re-arms the keep-warm timer for the pool's next deadline.
func (pr *poolRunner) resolveLocked(a Actions) plan {
	var pl plan
	for _, id := range a.Start {
		pl.start = append(pl.start, pr.newWorkerLocked(id))
	}
	for _, id := range a.Stop {
		if w := pr.workers[id]; w != nil && !w.exited {
			pl.stop = append(pl.stop, w)
		} else {
			// Already gone: nothing to stop.
			pr.pool.Stopped(id)
			delete(pr.workers, id)
		}
	}
	for _, h := range a.Hand {
		ch := pr.waiters[h.Request]
		delete(pr.waiters, h.Request)
		pl.hand = append(pl.hand, handTo{ch: ch, w: pr.workers[h.Worker]})
	}
	for _, r := range a.Refuse {
		pl.refuse = append(pl.refuse, pr.waiters[r])
		delete(pr.waiters, r)
	}
	if a.ProvisionedBusy {
		pl.gauge = true
		pl.busy, pl.pc = pr.pool.ProvisionedBusy()
	}
	pr.armLocked()
	if pr.pool.Drained() && !pr.drained {
		pr.drained = true
		pl.drained = true
	}
	return pl
}

func (pr *poolRunner) newWorkerLocked(id WorkerID) *worker {
	_, prov, _ := pr.pool.Worker(id)
	// Named as SageMaker names instances in log streams: <variant>/i-…,
	// unique across restarts.
	name := fmt.Sprintf("%s/i-%s%06x", pr.variant.Name, pr.f.runID, pr.f.workerSeq.Add(1))
	w := &worker{id: id, pr: pr, variant: pr.variant, name: name, warm: prov, memMB: pr.variant.MemoryMB()}
	pr.workers[id] = w
	return w
}

// armLocked sets the pool's timer to its next deadline.
func (pr *poolRunner) armLocked() {
	at := pr.pool.NextDeadline()
	if at.Equal(pr.timerAt) {
		return
	}
	if pr.timer != nil {
		pr.timer.Stop()
		pr.timer = nil
	}
	pr.timerAt = at
	if at.IsZero() {
		return
	}
	pr.timer = pr.f.opts.Clock.AfterFunc(at.Sub(pr.f.opts.Clock.Now()), func() {
		pr.step(func(p *Pool, now time.Time) Actions {
			pr.timerAt = time.Time{}
			return p.Tick(now)
		})
	})
}

// exec carries out a plan. Starts run in the background.
func (pr *poolRunner) exec(pl plan) {
	for _, w := range pl.stop {
		pr.stopWorker(w)
	}
	for _, h := range pl.hand {
		h.ch <- h.w
	}
	for _, ch := range pl.refuse {
		close(ch)
	}
	if pl.gauge && pr.obs != nil {
		pr.obs.ProvisionedBusy(pr.f.opts.Clock.Now(), pl.busy, pl.pc)
	}
	for _, w := range pl.start {
		pr.f.goBackground(func() { _ = pr.start(pr.gen.ctx, w, false) })
	}
	if pl.drained {
		pr.gen.poolDrained()
	}
}

// startAll starts workers and waits for them, returning what failed.
func (pr *poolRunner) startAll(ctx context.Context, ws []*worker) error {
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = pr.start(ctx, w, false)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// start brings worker w up: memory, process, first /ping. It reports the
// outcome to the pool (Started or StartFailed). A cold start's worker is
// then busy with its request.
func (pr *poolRunner) start(ctx context.Context, w *worker, forRequest bool) error {
	f := pr.f
	ctx, cancel := context.WithTimeout(ctx, f.opts.StartupTimeout)
	defer cancel()
	err := pr.claimMemory(w)
	if err == nil {
		err = pr.launch(ctx, w)
	}
	if err != nil {
		w.releaseMemory()
		if w.proc != nil {
			w.markStopping()
			stopProc(w.proc)
		}
		w.closeOutput()
		reason := err.Error()
		pr.step(func(p *Pool, now time.Time) Actions {
			delete(pr.workers, w.id)
			return p.StartFailed(now, w.id, reason)
		})
		if !forRequest {
			f.log.Warn("worker did not start", "endpoint", pr.endpoint, "variant", pr.variant.Name, "worker", w.name, "err", err)
		}
		return err
	}
	go pr.watch(w)
	pr.step(func(p *Pool, now time.Time) Actions { return p.Started(now, w.id) })
	return nil
}

// claimMemory takes w's memory from the budget, evicting idle on-demand
// workers (least recently used first, across every endpoint) if needed.
func (pr *poolRunner) claimMemory(w *worker) error {
	b := pr.f.budget
	if w.warm {
		b.takeWarm(w.memMB)
	} else if !b.takeOnDemand(w.memMB) {
		pr.f.evict(w.memMB)
		if !b.takeOnDemand(w.memMB) {
			err := b.shortage(w.memMB)
			pr.f.log.Info("on-demand worker refused for memory", "endpoint", pr.endpoint, "variant", pr.variant.Name, "err", err)
			return err
		}
	}
	w.mu.Lock()
	w.memHeld = true
	w.mu.Unlock()
	return nil
}

func (w *worker) releaseMemory() {
	w.mu.Lock()
	held := w.memHeld
	w.memHeld = false
	w.mu.Unlock()
	if held {
		w.pr.f.budget.give(w.memMB, w.warm)
	}
}

func (w *worker) markStopping() {
	w.mu.Lock()
	w.stopping = true
	w.mu.Unlock()
}

func (w *worker) isStopping() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stopping
}

// watch waits for w's process to exit and tells the pool.
func (pr *poolRunner) watch(w *worker) {
	<-w.proc.Done()
	w.conn.watch.close()
	w.releaseMemory()
	w.closeOutput()
	if w.scratch != "" {
		_ = os.RemoveAll(w.scratch)
	}
	level, reason := slog.LevelWarn, "crashed"
	if w.isStopping() {
		level, reason = slog.LevelInfo, "stopped by Hearth"
	}
	attrs := []slog.Attr{slog.String("endpoint", pr.endpoint), slog.String("variant", pr.variant.Name),
		slog.String("worker", w.name), slog.Bool("provisioned", w.warm), slog.String("exit", runtime.ExitReason(w.proc.Err())),
		slog.String("reason", reason), slog.Float64("uptime_ms", ms(time.Since(w.started)))}
	var ex *runtime.Exit
	if errors.As(w.proc.Err(), &ex) {
		attrs = append(attrs, slog.Int("exit_code", ex.Code))
		if ex.Signal != "" {
			attrs = append(attrs, slog.String("signal", ex.Signal))
		}
	}
	pr.f.log.LogAttrs(context.Background(), level, "worker exited", attrs...)
	pr.step(func(p *Pool, now time.Time) Actions {
		w.exited = true
		a := p.Exited(now, w.id)
		if _, _, ok := p.Worker(w.id); !ok {
			delete(pr.workers, w.id)
		}
		return a
	})
}

// stopWorker stops w's process in the background; its watcher then
// removes it from the pool.
func (pr *poolRunner) stopWorker(w *worker) {
	w.markStopping()
	w.releaseMemory()
	if w.proc == nil {
		return
	}
	pr.f.goBackground(func() { stopProc(w.proc) })
}

func stopProc(p runtime.Process) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = p.Stop(ctx)
}

// resize applies a new variant capacity and returns the workers started
// for it.
func (pr *poolRunner) resize(v hearth.Variant) []*worker {
	pr.mu.Lock()
	pr.variant.Weight = v.Weight
	pr.variant.Serverless = v.Serverless
	pr.variant.InstanceCount = v.InstanceCount
	a := pr.pool.Resize(pr.f.opts.Clock.Now(), poolConfig(pr.variant, pr.f.opts.KeepWarm))
	pl := pr.resolveLocked(a)
	started := pl.start
	pl.start = nil
	pr.mu.Unlock()
	pr.exec(pl)
	return started
}

// evict stops idle on-demand workers, least recently used first across
// every pool, until needMB fit the budget.
func (f *Fleet) evict(needMB int) {
	type cand struct {
		pr *poolRunner
		IdleWorker
	}
	var cands []cand
	for _, pr := range f.allPools() {
		pr.mu.Lock()
		for _, iw := range pr.pool.IdleOnDemand() {
			cands = append(cands, cand{pr, iw})
		}
		pr.mu.Unlock()
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].LastUsed.Before(cands[j].LastUsed) })
	for _, c := range cands {
		if f.budget.takeOnDemand(needMB) {
			f.budget.give(needMB, false)
			return
		}
		c.pr.mu.Lock()
		ok := c.pr.pool.Evict(c.ID)
		w := c.pr.workers[c.ID]
		c.pr.mu.Unlock()
		if ok && w != nil {
			f.log.Info("evicting idle on-demand worker to make room in the memory budget", "endpoint", c.pr.endpoint,
				"variant", c.pr.variant.Name, "worker", w.name, "needed_mb", needMB, "budget_mb", f.budget.totalMB, "in_use_mb", f.budget.usedMB())
			c.pr.stopWorker(w)
		}
	}
}

// closeOutput ends the worker's log stream (keeping a last line that had
// no newline).
func (w *worker) closeOutput() {
	w.mu.Lock()
	out := w.output
	w.output = nil
	w.mu.Unlock()
	if out != nil {
		_ = out.Close()
	}
}

// ms is d in float milliseconds, for log attributes.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
