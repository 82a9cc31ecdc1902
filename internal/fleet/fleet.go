package fleet

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hearth"
	"hearth/internal/clock"
	"hearth/internal/runtime"
)

// Artifacts fetches and unpacks a model artifact, returning the model
// directory. An empty URL yields an empty directory.
type Artifacts interface {
	Fetch(ctx context.Context, url string) (dir string, err error)
}

// Observer is told about invocations and worker events (metrics). The
// fleet asks it for a variant's VariantObserver once, when it makes the
// variant's pool, and keeps that for the pool's life.
type Observer interface {
	Variant(endpoint, variant string) VariantObserver
}

// VariantObserver is told about one endpoint variant's invocations and
// workers. Implementations must be cheap: they run on the request path.
type VariantObserver interface {
	Invoked(at time.Time, inv Invocation)
	ColdStart(at time.Time, setup time.Duration)
	// ProvisionedBusy reports the number of busy provisioned workers of
	// the variant and its provisioned concurrency whenever either changes.
	ProvisionedBusy(at time.Time, busy, provisioned int)
}

// WorkerLogs receives what workers print: one writer per worker, named
// as SageMaker names log streams (<variant>/<worker id>) in the endpoint's
// log group. Writes must not block.
type WorkerLogs interface {
	WorkerOutput(endpoint, stream string) io.WriteCloser
}

// Options configure a Fleet.
type Options struct {
	Runtime runtime.Runtime
	// Builtin, when set, runs the built-in runtime's workers (the XGBoost
	// image) inside this process (runtime/inprocess) instead of Runtime
	// running `hearth worker xgboost serve`. Such a worker gets no scratch
	// directory.
	Builtin   runtime.Runtime
	Artifacts Artifacts
	// Reporter receives deployment outcomes. It is called without any of
	// the fleet's locks held and must not block for long.
	Reporter hearth.Reporter
	Observer Observer
	// Logs, if set, receives every worker's stdout and stderr.
	Logs   WorkerLogs
	Clock  clock.Clock
	Logger *slog.Logger
	// SelfPath is the hearth executable, run as `hearth worker xgboost`
	// for the built-in runtime.
	SelfPath string
	// KeepWarm is how long an idle on-demand worker stays up.
	KeepWarm time.Duration
	// MemoryBudgetMB bounds the sum of running workers' MemorySizeInMB.
	MemoryBudgetMB int
	// StartupTimeout bounds a worker's start to its first healthy /ping.
	StartupTimeout time.Duration
	// InvokeTimeout bounds one invocation on a worker (serverless: 60 s).
	InvokeTimeout time.Duration
	// ScratchDir holds per-worker working directories.
	ScratchDir string
	// Region and AccountID appear in worker environments and error texts.
	Region, AccountID string
}

// Fleet runs every endpoint's workers. Its lock guards only the map of
// endpoints and their generations; each variant's pool has a lock of its
// own (poolRunner), and the memory budget another.
type Fleet struct {
	opts   Options
	log    *slog.Logger
	client *http.Client // for /ping
	budget *budget
	// runID and workerSeq name workers uniquely across restarts (their log
	// streams outlive them): i-<runID><seq>.
	runID     string
	workerSeq atomic.Uint64

	mu        sync.RWMutex
	endpoints map[string]*endpointState // by lower-cased name
	closed    bool
	bg        sync.WaitGroup
}

var _ hearth.Deployer = (*Fleet)(nil)

// New returns a Fleet; it starts nothing until Deploy is called.
func New(opts Options) *Fleet {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.KeepWarm <= 0 {
		opts.KeepWarm = 5 * time.Minute
	}
	if opts.StartupTimeout <= 0 {
		opts.StartupTimeout = 3 * time.Minute
	}
	if opts.InvokeTimeout <= 0 {
		opts.InvokeTimeout = 60 * time.Second
	}
	if opts.ScratchDir == "" {
		opts.ScratchDir = os.TempDir()
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     time.Second,
		DisableCompression:  true,
		DisableKeepAlives:   true,
	}
	var rb [4]byte
	_, _ = crand.Read(rb[:])
	return &Fleet{
		runID:     hex.EncodeToString(rb[:]),
		opts:      opts,
		log:       opts.Logger,
		client:    &http.Client{Transport: tr},
		budget:    newBudget(opts.MemoryBudgetMB),
		endpoints: map[string]*endpointState{},
	}
}

// goBackground runs fn on a goroutine Close waits for.
func (f *Fleet) goBackground(fn func()) {
	f.bg.Add(1)
	go func() {
		defer f.bg.Done()
		fn()
	}()
}

// endpointState is one endpoint's generations. Guarded by Fleet.mu.
type endpointState struct {
	name    string
	active  *generation // serving traffic
	pending *generation // being brought up
	// resizing serialises capacity changes of the active generation.
	resizing sync.Mutex
}

// generation is one deployment's running pools.
type generation struct {
	f      *Fleet
	ctx    context.Context
	cancel context.CancelFunc

	dep hearth.Deployment // weights change on resize; guarded by Fleet.mu
	// ready is closed once every variant's pool exists (artifacts
	// fetched); pools and err are set before it closes.
	ready chan struct{}
	pools []*poolRunner
	err   error

	mu        sync.Mutex
	draining  bool
	left      int // pools not yet drained
	onDrained []func()
	dead      bool
}

func (f *Fleet) newGeneration(d hearth.Deployment) *generation {
	ctx, cancel := context.WithCancel(context.Background())
	return &generation{f: f, ctx: ctx, cancel: cancel, dep: d, ready: make(chan struct{})}
}

// Admit checks that d's always-warm workers fit the memory budget next to
// every other endpoint's reservations, and if so reserves it.
func (f *Fleet) Admit(d hearth.Deployment) error {
	return f.budget.admit(strings.ToLower(d.Endpoint), alwaysWarmMB(d))
}

// alwaysWarmMB is the memory d's always-warm workers need.
func alwaysWarmMB(d hearth.Deployment) int {
	need := 0
	for _, v := range d.Variants {
		need += poolConfig(v, 0).AlwaysWarm * v.MemoryMB()
	}
	return need
}

// endpointLocked finds or makes the endpoint's state; nil once closed.
func (f *Fleet) endpointLocked(name string) *endpointState {
	if f.closed {
		return nil
	}
	key := strings.ToLower(name)
	es := f.endpoints[key]
	if es == nil {
		es = &endpointState{name: name}
		f.endpoints[key] = es
	}
	return es
}

// Deploy brings d up in the background. When it is ready, traffic moves to
// it and the endpoint's previous generation drains. A deployment that only
// changes capacity or weights resizes the running pools instead.
func (f *Fleet) Deploy(d hearth.Deployment) {
	f.mu.Lock()
	es := f.endpointLocked(d.Endpoint)
	if es == nil {
		f.mu.Unlock()
		return
	}
	// Admitted already (or restored after a restart): hold its memory.
	f.budget.reserve(strings.ToLower(d.Endpoint), alwaysWarmMB(d))
	if es.pending == nil && es.active != nil && sameWorkers(es.active.dep, d) {
		active := es.active
		f.mu.Unlock()
		f.goBackground(func() { f.resize(es, active, d) })
		return
	}
	if old := es.pending; old != nil {
		old.drain()
	}
	g := f.newGeneration(d)
	es.pending = g
	f.mu.Unlock()
	f.goBackground(func() {
		err := f.bringUp(g, true)
		f.finishDeploy(es, g, err)
	})
}

// Restore makes d the endpoint's active deployment at once — a restart
// must not turn away traffic an InService endpoint was taking — and brings
// its always-warm workers up behind it. Requests that arrive first wait
// for the variant's pool, then start on-demand workers or wait for a warm
// one. Nothing is started to prove an on-demand model (it was proven when
// it was deployed), so a restart never fails an endpoint for want of
// memory: always-warm capacity was reserved at admission.
func (f *Fleet) Restore(d hearth.Deployment) {
	f.mu.Lock()
	es := f.endpointLocked(d.Endpoint)
	if es == nil {
		f.mu.Unlock()
		return
	}
	if old := es.active; old != nil {
		old.drain()
	}
	g := f.newGeneration(d)
	es.active = g
	f.mu.Unlock()
	f.budget.reserve(strings.ToLower(d.Endpoint), alwaysWarmMB(d))
	f.goBackground(func() {
		err := f.bringUp(g, false)
		if err != nil && g.pools == nil {
			f.mu.Lock()
			if es.active == g {
				es.active = nil
			}
			f.mu.Unlock()
			g.drain()
			f.log.Warn("restoring endpoint failed", "endpoint", d.Endpoint, "generation", d.Generation, "err", err)
			f.report(hearth.Report{Endpoint: d.Endpoint, Generation: d.Generation, Outcome: hearth.Failed, Reason: err.Error()})
			return
		}
		if err != nil {
			// The pools serve; missing always-warm workers are retried
			// with backoff.
			f.log.Warn("restored endpoint is missing always-warm workers; retrying", "endpoint", d.Endpoint, "err", err)
		}
		f.log.Info("endpoint restored", "endpoint", d.Endpoint, "generation", d.Generation)
		f.report(hearth.Report{Endpoint: d.Endpoint, Generation: d.Generation, Outcome: hearth.Ready})
	})
}

// sameWorkers reports whether b runs the same workers as a — same variants
// with the same model and memory size — so that going from a to b only
// changes capacity and weights.
func sameWorkers(a, b hearth.Deployment) bool {
	if len(a.Variants) != len(b.Variants) {
		return false
	}
	for i := range a.Variants {
		x, y := a.Variants[i], b.Variants[i]
		if x.Name != y.Name || x.MemoryMB() != y.MemoryMB() || x.InstanceType != y.InstanceType ||
			(x.Serverless == nil) != (y.Serverless == nil) ||
			x.Model.Name != y.Model.Name || x.Model.Image != y.Model.Image || x.Model.ModelDataURL != y.Model.ModelDataURL ||
			!maps.Equal(x.Model.Environment, y.Model.Environment) {
			return false
		}
	}
	return true
}

// resize applies d's capacities and weights to the running generation g:
// new always-warm workers are started (and healthy) before it reports;
// surplus ones stop at once if idle, or, if busy, finish their request as
// on-demand workers and then keep warm only for the keep-warm period.
func (f *Fleet) resize(es *endpointState, g *generation, d hearth.Deployment) {
	es.resizing.Lock()
	defer es.resizing.Unlock()
	<-g.ready // a restored generation may still be making its pools
	var errs []error
	if g.err == nil {
		f.mu.Lock()
		g.dep = d
		f.mu.Unlock()
		f.budget.reserve(strings.ToLower(d.Endpoint), alwaysWarmMB(d))
		for i, pr := range g.pools {
			started := pr.resize(d.Variants[i])
			if err := pr.startAll(g.ctx, started); err != nil {
				errs = append(errs, fmt.Errorf("production variant %s: %w", pr.variant.Name, err))
			}
		}
	} else {
		errs = append(errs, g.err)
	}
	outcome, reason := hearth.Ready, ""
	if err := errors.Join(errs...); err != nil {
		outcome, reason = hearth.Failed, err.Error()
	}
	f.report(hearth.Report{Endpoint: d.Endpoint, Generation: d.Generation, Outcome: outcome, Reason: reason})
}

// bringUp fetches artifacts, makes the pools, and starts the always-warm
// workers of every variant — and, with warmUp, one on-demand worker of a
// variant without any, to prove the model starts (skipped, not failed,
// when the memory budget has no room for it now).
func (f *Fleet) bringUp(g *generation, warmUp bool) error {
	if err := f.buildPools(g); err != nil {
		return err
	}
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, pr := range g.pools {
		pr.mu.Lock()
		now := f.opts.Clock.Now()
		a := pr.pool.Fill(now)
		if len(a.Start) == 0 && warmUp && f.budget.takeOnDemand(pr.variant.MemoryMB()) {
			// Room now; the start claims it again.
			f.budget.give(pr.variant.MemoryMB(), false)
			a = pr.pool.WarmUp(now)
		}
		pl := pr.resolveLocked(a)
		starts := pl.start
		pl.start = nil
		pr.mu.Unlock()
		pr.exec(pl)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := pr.startAll(g.ctx, starts); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("The primary container for production variant %s did not pass the ping health check: %w", pr.variant.Name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// buildPools fetches each variant's artifact and makes its pool, then
// releases requests waiting for the generation's pools.
func (f *Fleet) buildPools(g *generation) (err error) {
	var pools []*poolRunner
	defer func() {
		if err == nil {
			g.pools = pools
		}
		g.err = err
		g.mu.Lock()
		g.left = len(g.pools)
		g.mu.Unlock()
		close(g.ready)
	}()
	for _, v := range g.dep.Variants {
		spec, err := f.programSpec(v)
		if err != nil {
			return fmt.Errorf("variant %s: %w", v.Name, err)
		}
		dir, err := f.opts.Artifacts.Fetch(g.ctx, v.Model.ModelDataURL)
		if err != nil {
			return fmt.Errorf("Failed to download model data for production variant %s: %w", v.Name, err)
		}
		pools = append(pools, newPoolRunner(f, g, v, dir))
		if pw, ok := f.runtimeFor(spec).(prewarmer); ok {
			pw.Prewarm(spec)
		}
	}
	return nil
}

// prewarmer is a runtime that can get ready to start a program quickly.
type prewarmer interface{ Prewarm(runtime.Spec) }

func (f *Fleet) finishDeploy(es *endpointState, g *generation, err error) {
	f.mu.Lock()
	if es.pending != g {
		// Superseded or removed while coming up.
		f.mu.Unlock()
		g.drain()
		return
	}
	es.pending = nil
	if err != nil {
		// The reservation goes back to what still runs.
		keep := 0
		if es.active != nil {
			keep = alwaysWarmMB(es.active.dep)
		}
		f.mu.Unlock()
		f.budget.reserve(strings.ToLower(g.dep.Endpoint), keep)
		g.drain()
		f.log.Warn("deployment failed", "endpoint", g.dep.Endpoint, "generation", g.dep.Generation, "err", err)
		f.report(hearth.Report{Endpoint: g.dep.Endpoint, Generation: g.dep.Generation, Outcome: hearth.Failed, Reason: err.Error()})
		return
	}
	old := es.active
	es.active = g
	f.mu.Unlock()
	if old != nil {
		old.drain()
	}
	for _, pr := range g.pools {
		pr.step(func(p *Pool, now time.Time) Actions { return Actions{ProvisionedBusy: true} })
	}
	f.log.Info("endpoint in service", "endpoint", g.dep.Endpoint, "generation", g.dep.Generation)
	f.report(hearth.Report{Endpoint: g.dep.Endpoint, Generation: g.dep.Generation, Outcome: hearth.Ready})
}

func (f *Fleet) report(r hearth.Report) {
	if f.opts.Reporter != nil {
		f.opts.Reporter.Report(context.Background(), r)
	}
}

// Remove drains the endpoint and reports Removed once its workers stopped.
func (f *Fleet) Remove(endpoint string, gen int64) {
	key := strings.ToLower(endpoint)
	f.mu.Lock()
	es := f.endpoints[key]
	var gens []*generation
	if es != nil {
		for _, g := range []*generation{es.active, es.pending} {
			if g != nil {
				gens = append(gens, g)
			}
		}
		delete(f.endpoints, key)
	}
	f.mu.Unlock()
	f.budget.reserve(key, 0)
	removed := func() { f.report(hearth.Report{Endpoint: endpoint, Generation: gen, Outcome: hearth.Removed}) }
	if len(gens) == 0 {
		removed()
		return
	}
	var left sync.WaitGroup
	left.Add(len(gens))
	for _, g := range gens {
		g.whenDrained(left.Done)
		g.drain()
		for _, pr := range g.poolsIfReady() {
			// The variant serves nothing more: its gauge reads 0 of 0.
			if pr.obs != nil {
				pr.obs.ProvisionedBusy(f.opts.Clock.Now(), 0, 0)
			}
		}
	}
	f.goBackground(func() {
		left.Wait()
		removed()
	})
}

// poolsIfReady returns the generation's pools if they have been made.
func (g *generation) poolsIfReady() []*poolRunner {
	select {
	case <-g.ready:
		return g.pools
	default:
		return nil
	}
}

// drain stops the generation: idle workers now, busy ones when their
// request finishes; a generation still coming up stops coming up.
func (g *generation) drain() {
	g.mu.Lock()
	if g.draining {
		g.mu.Unlock()
		return
	}
	g.draining = true
	g.mu.Unlock()
	g.cancel()
	g.f.goBackground(func() {
		<-g.ready
		if len(g.pools) == 0 {
			g.finish()
			return
		}
		for _, pr := range g.pools {
			pr.step(func(p *Pool, now time.Time) Actions { return p.Drain(now) })
		}
	})
}

// whenDrained runs fn once every pool of the draining generation has
// nothing running or in flight.
func (g *generation) whenDrained(fn func()) {
	g.mu.Lock()
	if g.dead {
		g.mu.Unlock()
		fn()
		return
	}
	g.onDrained = append(g.onDrained, fn)
	g.mu.Unlock()
}

// poolDrained is called once by each pool when it has drained.
func (g *generation) poolDrained() {
	g.mu.Lock()
	g.left--
	done := g.left <= 0
	g.mu.Unlock()
	if done {
		g.finish()
	}
}

func (g *generation) finish() {
	g.mu.Lock()
	if g.dead {
		g.mu.Unlock()
		return
	}
	g.dead = true
	fns := g.onDrained
	g.onDrained = nil
	g.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// allPools lists the pools of every generation that has them.
func (f *Fleet) allPools() []*poolRunner {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var out []*poolRunner
	for _, es := range f.endpoints {
		for _, g := range []*generation{es.active, es.pending} {
			if g != nil {
				out = append(out, g.poolsIfReady()...)
			}
		}
	}
	return out
}

// Close stops taking deployments, drains every endpoint, and stops every
// worker — busy ones too, once ctx is done — then waits for background
// work.
func (f *Fleet) Close(ctx context.Context) error {
	f.mu.Lock()
	f.closed = true
	var gens []*generation
	for _, es := range f.endpoints {
		for _, g := range []*generation{es.active, es.pending} {
			if g != nil {
				gens = append(gens, g)
			}
		}
	}
	f.mu.Unlock()
	var left sync.WaitGroup
	left.Add(len(gens))
	for _, g := range gens {
		g.whenDrained(left.Done)
		g.drain()
	}
	done := make(chan struct{})
	go func() { left.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		// In-flight requests ran out of time: stop what still runs.
		for _, g := range gens {
			for _, pr := range g.poolsIfReady() {
				pr.mu.Lock()
				var procs []runtime.Process
				for _, w := range pr.workers {
					if w.proc != nil {
						w.markStopping()
						procs = append(procs, w.proc)
					}
				}
				pr.mu.Unlock()
				for _, p := range procs {
					kctx, cancel := context.WithTimeout(context.Background(), time.Second)
					_ = p.Stop(kctx)
					cancel()
				}
			}
		}
	}
	f.bg.Wait()
	return nil
}

// pickVariant chooses the pool for a request: the named target variant, or
// a weighted random choice. Called with Fleet.mu read-locked.
func (g *generation) pickVariant(target string) (*poolRunner, error) {
	if target != "" {
		for _, pr := range g.pools {
			if strings.EqualFold(pr.variant.Name, target) {
				return pr, nil
			}
		}
		return nil, errNoVariant
	}
	if len(g.pools) == 1 {
		return g.pools[0], nil
	}
	total := 0.0
	for _, v := range g.dep.Variants {
		total += v.Weight
	}
	if total <= 0 {
		return nil, errNoWeight
	}
	x := rand.Float64() * total
	for i, v := range g.dep.Variants {
		x -= v.Weight
		if x < 0 {
			return g.pools[i], nil
		}
	}
	return g.pools[len(g.pools)-1], nil
}

var (
	errNoVariant = errors.New("no such variant")
	errNoWeight  = errors.New("all variant weights are 0")
)

// WorkerCount is one line of the worker census (for Prometheus).
type WorkerCount struct {
	Endpoint, Variant string
	Kind              string // "provisioned" | "on-demand"
	State             string // "idle" | "busy" | "starting"
	Count             int
}

// WorkerCounts counts running workers by endpoint, variant, kind and state.
func (f *Fleet) WorkerCounts() []WorkerCount {
	var out []WorkerCount
	for _, pr := range f.allPools() {
		pr.mu.Lock()
		for k, n := range pr.pool.Census() {
			out = append(out, WorkerCount{Endpoint: pr.endpoint, Variant: pr.variant.Name, Kind: k[0], State: k[1], Count: n})
		}
		pr.mu.Unlock()
	}
	// Generations of one endpoint may share a variant name: add them up.
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Endpoint+"\x00"+a.Variant+"\x00"+a.Kind+"\x00"+a.State < b.Endpoint+"\x00"+b.Variant+"\x00"+b.Kind+"\x00"+b.State
	})
	merged := out[:0]
	for _, c := range out {
		if n := len(merged); n > 0 && merged[n-1].Endpoint == c.Endpoint && merged[n-1].Variant == c.Variant &&
			merged[n-1].Kind == c.Kind && merged[n-1].State == c.State {
			merged[n-1].Count += c.Count
			continue
		}
		merged = append(merged, c)
	}
	return merged
}

// MemoryUsedMB is the memory held by running workers.
func (f *Fleet) MemoryUsedMB() int { return f.budget.usedMB() }

// MemoryBudgetMB is the budget all workers share (0: unlimited).
func (f *Fleet) MemoryBudgetMB() int { return f.budget.totalMB }

// MemoryReservedMB is the part of the budget reserved for always-warm
// workers (provisioned concurrency and instances) of admitted endpoints.
func (f *Fleet) MemoryReservedMB() int { return f.budget.reservedMB() }

// SetReporter sets where deployment outcomes go. Call it before the first
// Deploy; it exists because the reporter (the control plane) is built with
// the fleet as its deployer.
func (f *Fleet) SetReporter(r hearth.Reporter) { f.opts.Reporter = r }

// WorkerURLs lists the base URLs of the ready workers of an endpoint's
// active deployment, for diagnostics and for benchmarks that compare a
// request through Hearth with one sent straight to the worker.
func (f *Fleet) WorkerURLs(endpoint string) []string {
	f.mu.RLock()
	es := f.endpoints[strings.ToLower(endpoint)]
	var g *generation
	if es != nil {
		g = es.active
	}
	f.mu.RUnlock()
	if g == nil {
		return nil
	}
	var out []string
	for _, pr := range g.poolsIfReady() {
		pr.mu.Lock()
		for id, w := range pr.workers {
			if ph, _, ok := pr.pool.Worker(id); ok && (ph == Idle || ph == Busy) && w.proc != nil && w.proc.Addr() != "" {
				out = append(out, "http://"+w.proc.Addr())
			}
		}
		pr.mu.Unlock()
	}
	sort.Strings(out)
	return out
}

// VariantMemory is the memory a variant's running workers use.
type VariantMemory struct {
	Endpoint, Variant string
	// UsedMB is the workers' resident memory; SizedMB what they were
	// given (workers × MemorySizeInMB).
	UsedMB, SizedMB float64
}

// MemoryUse measures the resident memory of every variant's running
// workers (from /proc, or the estimate of an in-process worker; variants
// are skipped where it cannot be read).
func (f *Fleet) MemoryUse() []VariantMemory {
	type item struct {
		ep, v string
		pids  []int
		est   float64 // estimated MB of workers without a process of their own
		n     int
		size  int
	}
	f.mu.RLock()
	var actives []*generation
	for _, es := range f.endpoints {
		if es.active != nil {
			actives = append(actives, es.active)
		}
	}
	f.mu.RUnlock()
	var items []item
	for _, g := range actives {
		for _, pr := range g.poolsIfReady() {
			it := item{ep: pr.endpoint, v: pr.variant.Name}
			pr.mu.Lock()
			for id, w := range pr.workers {
				ph, _, ok := pr.pool.Worker(id)
				if !ok || (ph != Idle && ph != Busy) || w.proc == nil {
					continue
				}
				if pid := w.proc.Pid(); pid > 0 {
					it.pids = append(it.pids, pid)
				} else if me, ok := w.proc.(runtime.MemoryEstimator); ok {
					it.est += me.MemoryEstimateMB()
				} else {
					continue
				}
				it.n++
				it.size += w.memMB
			}
			pr.mu.Unlock()
			if it.n > 0 {
				items = append(items, it)
			}
		}
	}
	out := make([]VariantMemory, 0, len(items))
	for _, it := range items {
		used, ok := it.est, true
		for _, pid := range it.pids {
			kb, err := residentKB(pid)
			if err != nil {
				ok = false
				break
			}
			used += float64(kb) / 1024
		}
		if ok {
			out = append(out, VariantMemory{Endpoint: it.ep, Variant: it.v, UsedMB: used, SizedMB: float64(it.size)})
		}
	}
	return out
}

// residentKB reads a process's VmRSS from /proc.
func residentKB(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, errors.New("no VmRSS")
}
