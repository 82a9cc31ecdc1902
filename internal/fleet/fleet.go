package fleet

import (
	"context"
	"errors"
	"fmt"
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
	"time"

	"hearth"
	"hearth/internal/clock"
	"hearth/internal/image"
	"hearth/internal/runtime"
)

// Artifacts fetches and unpacks a model artifact, returning the model
// directory. An empty URL yields an empty directory.
type Artifacts interface {
	Fetch(ctx context.Context, url string) (dir string, err error)
}

// Observer is told about invocations and worker events (metrics).
// Implementations must be cheap: they run on the request path.
type Observer interface {
	Invoked(endpoint, variant string, at time.Time, inv Invocation)
	ColdStart(endpoint, variant string, at time.Time, setup time.Duration)
	// ProvisionedBusy reports the number of busy provisioned workers of a
	// variant and its provisioned concurrency whenever either changes.
	ProvisionedBusy(endpoint, variant string, at time.Time, busy, provisioned int)
}

// Options configure a Fleet.
type Options struct {
	Runtime   runtime.Runtime
	Artifacts Artifacts
	Reporter  hearth.Reporter
	Observer  Observer
	Clock     clock.Clock
	Logger    *slog.Logger
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

// Fleet runs every endpoint's workers.
type Fleet struct {
	opts      Options
	log       *slog.Logger
	transport *http.Transport
	client    *http.Client

	mu        sync.Mutex
	endpoints map[string]*endpointState // by lower-cased name
	memUsedMB int
	nextID    int
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
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &Fleet{
		opts:      opts,
		log:       opts.Logger,
		transport: tr,
		client:    &http.Client{Transport: tr},
		endpoints: map[string]*endpointState{},
	}
}

// endpointState is one endpoint's generations.
type endpointState struct {
	resizeMu sync.Mutex // one resize at a time
	name     string
	active   *generation // serving traffic
	pending  *generation // being brought up
	removed  bool
}

// generation is one deployment's running pools.
type generation struct {
	dep    hearth.Deployment
	pools  []*pool
	cancel context.CancelFunc
	// poolsReady is closed once every variant's pool exists (artifacts
	// fetched); poolsErr then says whether that failed.
	poolsReady chan struct{}
	poolsErr   error
	// draining generations stop their workers as they go idle.
	draining  bool
	dead      bool
	onDrained func()
}

// pool is one variant's workers.
type pool struct {
	f        *Fleet
	gen      *generation
	endpoint string
	variant  hearth.Variant
	modelDir string

	// Guarded by f.mu.
	workers     []*worker
	inflight    int // requests holding (or starting) a worker
	provBusy    int
	waiters     []chan *worker // instance-based variants queue briefly
	lastFailure string
	// replenishing counts provisioned workers being started to refill the
	// pool, so concurrent refills do not overshoot.
	replenishing int
}

// alwaysWarm is how many workers the pool keeps up regardless of traffic.
func (p *pool) alwaysWarm() int {
	if s := p.variant.Serverless; s != nil {
		return s.ProvisionedConcurrency
	}
	return p.variant.InstanceCount
}

func (p *pool) maxConcurrency() int {
	if s := p.variant.Serverless; s != nil {
		return s.MaxConcurrency
	}
	return p.variant.InstanceCount
}

func (p *pool) provisionedCount() int {
	n := 0
	for _, w := range p.workers {
		if w.provisioned && w.state != stateDead {
			n++
		}
	}
	return n
}

type workerState int

const (
	stateStarting workerState = iota
	stateIdle
	stateBusy
	stateDead
)

func (s workerState) String() string {
	return [...]string{"starting", "idle", "busy", "dead"}[s]
}

// worker is one model-server process.
type worker struct {
	id          int
	pool        *pool
	provisioned bool
	state       workerState
	proc        runtime.Process
	base        string // http://127.0.0.1:port
	conn        workerConn
	lastUsed    time.Time
	expiry      clock.Timer
	memMB       int
	stopping    bool // stopped on purpose, not crashed
}

// Admit checks that d's always-warm workers fit the memory budget next to
// every other endpoint's.
func (f *Fleet) Admit(d hearth.Deployment) error {
	if f.opts.MemoryBudgetMB <= 0 {
		return nil
	}
	need := 0
	for _, v := range d.Variants {
		n := v.InstanceCount
		if v.Serverless != nil {
			n = v.Serverless.ProvisionedConcurrency
		}
		need += n * v.MemoryMB()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	reserved := 0
	for key, es := range f.endpoints {
		if key == strings.ToLower(d.Endpoint) || es.removed {
			continue
		}
		for _, g := range []*generation{es.active, es.pending} {
			if g == nil {
				continue
			}
			for _, p := range g.pools {
				reserved += p.alwaysWarm() * p.variant.MemoryMB()
			}
		}
	}
	if reserved+need > f.opts.MemoryBudgetMB {
		return fmt.Errorf("endpoint %s needs %d MB of always-warm workers (provisioned concurrency × MemorySizeInMB), but only %d MB of the host's %d MB memory budget are free", d.Endpoint, need, f.opts.MemoryBudgetMB-reserved, f.opts.MemoryBudgetMB)
	}
	return nil
}

// Deploy brings d up in the background. When it is ready, traffic moves to
// it and the endpoint's previous generation drains.
func (f *Fleet) Deploy(d hearth.Deployment) {
	ctx, g, es := f.beginLocked(d)
	if es == nil {
		return
	}
	es.removed = false
	if es.pending == nil && es.active != nil && sameWorkers(es.active.dep, d) {
		// Only capacity or weights change: resize the running pools.
		active := es.active
		f.bg.Add(1)
		f.mu.Unlock()
		g.cancel() // the new generation is not used
		go func() {
			defer f.bg.Done()
			es.resizeMu.Lock()
			defer es.resizeMu.Unlock()
			<-active.poolsReady // a restored generation may still be making its pools
			err := f.resize(active, d)
			f.mu.Lock()
			gauges := f.gaugesLocked(active)
			f.mu.Unlock()
			f.announce(gauges)
			outcome, reason := hearth.Ready, ""
			if err != nil {
				outcome, reason = hearth.Failed, err.Error()
			}
			f.report(hearth.Report{Endpoint: d.Endpoint, Generation: d.Generation, Outcome: outcome, Reason: reason})
		}()
		return
	}
	if old := es.pending; old != nil {
		old.cancel()
		f.drainLocked(old)
	}
	es.pending = g
	f.bg.Add(1)
	f.mu.Unlock()
	go func() {
		defer f.bg.Done()
		err := f.bringUp(ctx, g)
		f.finishDeploy(es, g, err)
	}()
}

// beginLocked makes a new generation for d and finds (or creates) its
// endpoint, returning with f.mu held — or, once the fleet is closed, with a
// nil endpoint and the lock released.
func (f *Fleet) beginLocked(d hearth.Deployment) (context.Context, *generation, *endpointState) {
	ctx, cancel := context.WithCancel(context.Background())
	g := &generation{dep: d, cancel: cancel, poolsReady: make(chan struct{})}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		cancel()
		return nil, nil, nil
	}
	key := strings.ToLower(d.Endpoint)
	es := f.endpoints[key]
	if es == nil {
		es = &endpointState{name: d.Endpoint}
		f.endpoints[key] = es
	}
	return ctx, g, es
}

// Restore makes d the endpoint's active deployment at once — a restart
// must not turn away traffic an InService endpoint was taking — and brings
// its workers up behind it: requests that arrive first wait for the
// variant's pool, then start on-demand workers or wait for a warm one.
func (f *Fleet) Restore(d hearth.Deployment) {
	ctx, g, es := f.beginLocked(d)
	if es == nil {
		return
	}
	if old := es.active; old != nil {
		f.drainLocked(old)
	}
	es.active = g
	f.bg.Add(1)
	f.mu.Unlock()
	go func() {
		defer f.bg.Done()
		err := f.bringUp(ctx, g)
		f.mu.Lock()
		if err != nil && es.active == g {
			es.active = nil
			f.drainLocked(g)
		}
		gauges := f.gaugesLocked(g)
		f.mu.Unlock()
		if err != nil {
			f.log.Warn("restoring endpoint failed", "endpoint", d.Endpoint, "generation", d.Generation, "err", err)
			f.report(hearth.Report{Endpoint: d.Endpoint, Generation: d.Generation, Outcome: hearth.Failed, Reason: err.Error()})
			return
		}
		f.announce(gauges)
		f.log.Info("endpoint restored", "endpoint", d.Endpoint, "generation", d.Generation)
		f.report(hearth.Report{Endpoint: d.Endpoint, Generation: d.Generation, Outcome: hearth.Ready})
	}()
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
// new always-warm workers are started (and healthy) before it returns;
// surplus ones stop at once if idle, or, if busy, finish their request as
// on-demand workers and then keep warm only for the keep-warm period.
func (f *Fleet) resize(g *generation, d hearth.Deployment) error {
	f.mu.Lock()
	g.dep = d
	for i, p := range g.pools {
		p.variant.Weight = d.Variants[i].Weight
		p.variant.Serverless = d.Variants[i].Serverless
		p.variant.InstanceCount = d.Variants[i].InstanceCount
		surplus := p.provisionedCount() - p.alwaysWarm()
		for _, w := range append([]*worker(nil), p.workers...) {
			if surplus <= 0 {
				break
			}
			if w.provisioned && (w.state == stateIdle || w.state == stateStarting) {
				if w.state == stateIdle {
					f.stopLocked(w)
				} else {
					w.provisioned = false
				}
				surplus--
			}
		}
		for _, w := range p.workers {
			if surplus <= 0 {
				break
			}
			if w.provisioned && w.state == stateBusy {
				w.provisioned = false
				p.provBusy--
				surplus--
			}
		}
	}
	pools := append([]*pool(nil), g.pools...)
	f.mu.Unlock()
	var errs []error
	for _, p := range pools {
		if err := f.fill(context.Background(), p); err != nil {
			errs = append(errs, fmt.Errorf("production variant %s: %w", p.variant.Name, err))
		}
	}
	return errors.Join(errs...)
}

// bringUp fetches artifacts and starts the always-warm workers of every
// variant, or — for a variant without any — one worker, to prove the model
// starts before the endpoint is InService.
func (f *Fleet) bringUp(ctx context.Context, g *generation) error {
	if err := f.buildPools(ctx, g); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for _, p := range g.pools {
		n := p.alwaysWarm()
		warmup := n == 0
		if warmup {
			n = 1
		}
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w, err := f.startWorker(ctx, p, !warmup, false)
				switch {
				case errors.Is(err, errMemory):
					errs <- fmt.Errorf("Not enough host memory for production variant %s: %w", p.variant.Name, err)
					return
				case err != nil:
					errs <- fmt.Errorf("The primary container for production variant %s did not pass the ping health check: %w", p.variant.Name, err)
					return
				}
				f.mu.Lock()
				f.idleLocked(w)
				f.mu.Unlock()
			}()
		}
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// buildPools fetches each variant's artifact and makes its pool, then
// releases requests waiting for the generation's pools.
func (f *Fleet) buildPools(ctx context.Context, g *generation) (err error) {
	defer func() {
		f.mu.Lock()
		g.poolsErr = err
		f.mu.Unlock()
		close(g.poolsReady)
	}()
	for _, v := range g.dep.Variants {
		if _, err := image.Resolve(v.Model.Image); err != nil {
			return fmt.Errorf("variant %s: %w", v.Name, err)
		}
		dir, err := f.opts.Artifacts.Fetch(ctx, v.Model.ModelDataURL)
		if err != nil {
			return fmt.Errorf("Failed to download model data for production variant %s: %w", v.Name, err)
		}
		p := &pool{f: f, gen: g, endpoint: g.dep.Endpoint, variant: v, modelDir: dir}
		f.mu.Lock()
		g.pools = append(g.pools, p)
		f.mu.Unlock()
		if pw, ok := f.opts.Runtime.(prewarmer); ok {
			if spec, err := f.programSpec(v); err == nil {
				pw.Prewarm(spec)
			}
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
		f.drainLocked(g)
		f.mu.Unlock()
		return
	}
	es.pending = nil
	if err != nil {
		f.drainLocked(g)
		f.mu.Unlock()
		f.log.Warn("deployment failed", "endpoint", g.dep.Endpoint, "generation", g.dep.Generation, "err", err)
		f.report(hearth.Report{Endpoint: g.dep.Endpoint, Generation: g.dep.Generation, Outcome: hearth.Failed, Reason: err.Error()})
		return
	}
	old := es.active
	es.active = g
	if old != nil {
		f.drainLocked(old)
	}
	gauges := f.gaugesLocked(g)
	f.mu.Unlock()
	f.announce(gauges)
	f.log.Info("endpoint in service", "endpoint", g.dep.Endpoint, "generation", g.dep.Generation)
	f.report(hearth.Report{Endpoint: g.dep.Endpoint, Generation: g.dep.Generation, Outcome: hearth.Ready})
}

func (f *Fleet) report(r hearth.Report) {
	f.mu.Lock()
	rep := f.opts.Reporter
	f.mu.Unlock()
	if rep != nil {
		rep.Report(context.Background(), r)
	}
}

// Remove drains the endpoint and reports Removed once its workers stopped.
func (f *Fleet) Remove(endpoint string, gen int64) {
	key := strings.ToLower(endpoint)
	f.mu.Lock()
	es := f.endpoints[key]
	if es == nil {
		f.mu.Unlock()
		f.report(hearth.Report{Endpoint: endpoint, Generation: gen, Outcome: hearth.Removed})
		return
	}
	es.removed = true
	var gens []*generation
	for _, g := range []*generation{es.active, es.pending} {
		if g != nil {
			gens = append(gens, g)
		}
	}
	es.active, es.pending = nil, nil
	delete(f.endpoints, key)
	remaining := len(gens)
	done := func() {
		remaining--
		if remaining == 0 {
			go f.report(hearth.Report{Endpoint: endpoint, Generation: gen, Outcome: hearth.Removed})
		}
	}
	var gauges []gauge
	for _, g := range gens {
		g.cancel()
		g.onDrained = done
		f.drainLocked(g)
		for _, x := range f.gaugesLocked(g) {
			x.busy, x.pc = 0, 0
			gauges = append(gauges, x)
		}
	}
	f.mu.Unlock()
	f.announce(gauges)
	if len(gens) == 0 {
		f.report(hearth.Report{Endpoint: endpoint, Generation: gen, Outcome: hearth.Removed})
	}
}

// drainLocked stops g's idle workers now and its busy ones when they finish.
func (f *Fleet) drainLocked(g *generation) {
	g.draining = true
	for _, p := range g.pools {
		for _, w := range append([]*worker(nil), p.workers...) {
			if w.state == stateIdle {
				f.stopLocked(w)
			}
		}
		for _, ch := range p.waiters {
			close(ch)
		}
		p.waiters = nil
	}
	f.checkDrainedLocked(g)
}

func (f *Fleet) checkDrainedLocked(g *generation) {
	if !g.draining || g.dead {
		return
	}
	for _, p := range g.pools {
		for _, w := range p.workers {
			if w.state != stateDead {
				return
			}
		}
		if p.inflight > 0 {
			return
		}
	}
	g.dead = true
	if g.onDrained != nil {
		g.onDrained()
	}
}

// Close stops every worker and waits for background work.
func (f *Fleet) Close(ctx context.Context) error {
	f.mu.Lock()
	f.closed = true
	var procs []runtime.Process
	for _, es := range f.endpoints {
		for _, g := range []*generation{es.active, es.pending} {
			if g == nil {
				continue
			}
			g.cancel()
			g.draining = true
			for _, p := range g.pools {
				for _, w := range p.workers {
					w.stopping = true
					if w.proc != nil {
						procs = append(procs, w.proc)
					}
				}
			}
		}
	}
	f.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			_ = p.Stop(stopCtx)
		}()
	}
	wg.Wait()
	f.bg.Wait()
	f.transport.CloseIdleConnections()
	return nil
}

// pickVariant chooses the pool for a request: the named target variant, or
// a weighted random choice.
func (g *generation) pickVariant(target string) (*pool, error) {
	if target != "" {
		for _, p := range g.pools {
			if strings.EqualFold(p.variant.Name, target) {
				return p, nil
			}
		}
		return nil, errNoVariant
	}
	if len(g.pools) == 1 {
		return g.pools[0], nil
	}
	total := 0.0
	for _, p := range g.pools {
		total += p.variant.Weight
	}
	if total <= 0 {
		return nil, errNoWeight
	}
	x := rand.Float64() * total
	for _, p := range g.pools {
		x -= p.variant.Weight
		if x < 0 {
			return p, nil
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
	f.mu.Lock()
	defer f.mu.Unlock()
	type key struct{ e, v, k, s string }
	counts := map[key]int{}
	for _, es := range f.endpoints {
		for _, g := range []*generation{es.active, es.pending} {
			if g == nil {
				continue
			}
			for _, p := range g.pools {
				for _, w := range p.workers {
					if w.state == stateDead {
						continue
					}
					kind := "on-demand"
					if w.provisioned {
						kind = "provisioned"
					}
					counts[key{es.name, p.variant.Name, kind, w.state.String()}]++
				}
			}
		}
	}
	out := make([]WorkerCount, 0, len(counts))
	for k, n := range counts {
		out = append(out, WorkerCount{Endpoint: k.e, Variant: k.v, Kind: k.k, State: k.s, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Endpoint+a.Variant+a.Kind+a.State < b.Endpoint+b.Variant+b.Kind+b.State
	})
	return out
}

// MemoryUsedMB is the memory reserved by running workers.
func (f *Fleet) MemoryUsedMB() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.memUsedMB
}

func itoa(n int) string { return strconv.Itoa(n) }

// SetReporter sets where deployment outcomes go. Call it before the first
// Deploy; it exists because the reporter (the control plane) is built with
// the fleet as its deployer.
func (f *Fleet) SetReporter(r hearth.Reporter) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opts.Reporter = r
}

// WorkerURLs lists the base URLs of the running workers of an endpoint's
// active deployment, for diagnostics and for benchmarks that compare a
// request through Hearth with one sent straight to the worker.
func (f *Fleet) WorkerURLs(endpoint string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	es := f.endpoints[strings.ToLower(endpoint)]
	if es == nil || es.active == nil {
		return nil
	}
	var out []string
	for _, p := range es.active.pools {
		for _, w := range p.workers {
			if w.state == stateIdle || w.state == stateBusy {
				out = append(out, w.base)
			}
		}
	}
	return out
}

// gauge is one variant's provisioned-concurrency reading.
type gauge struct {
	endpoint, variant string
	busy, pc          int
}

func (f *Fleet) gaugesLocked(g *generation) []gauge {
	out := make([]gauge, 0, len(g.pools))
	for _, p := range g.pools {
		pc := 0
		if p.variant.Serverless != nil {
			pc = p.variant.Serverless.ProvisionedConcurrency
		}
		out = append(out, gauge{p.endpoint, p.variant.Name, p.provBusy, pc})
	}
	return out
}

// announce tells the observer the variants' provisioned concurrency, so
// that idle periods are recorded as such.
func (f *Fleet) announce(gs []gauge) {
	if f.opts.Observer == nil {
		return
	}
	now := f.opts.Clock.Now()
	for _, g := range gs {
		f.opts.Observer.ProvisionedBusy(g.endpoint, g.variant, now, g.busy, g.pc)
	}
}

// VariantMemory is the memory a variant's running workers use.
type VariantMemory struct {
	Endpoint, Variant string
	// UsedMB is the workers' resident memory; SizedMB what they were
	// given (workers × MemorySizeInMB).
	UsedMB, SizedMB float64
}

// MemoryUse measures the resident memory of every variant's running
// workers (from /proc; variants are skipped where it cannot be read).
func (f *Fleet) MemoryUse() []VariantMemory {
	type item struct {
		ep, v string
		pids  []int
		size  int
	}
	f.mu.Lock()
	var items []item
	for _, es := range f.endpoints {
		if es.active == nil {
			continue
		}
		for _, p := range es.active.pools {
			it := item{ep: es.name, v: p.variant.Name}
			for _, w := range p.workers {
				if (w.state == stateIdle || w.state == stateBusy) && w.proc != nil {
					it.pids = append(it.pids, w.proc.Pid())
					it.size += w.memMB
				}
			}
			if len(it.pids) > 0 {
				items = append(items, it)
			}
		}
	}
	f.mu.Unlock()
	out := make([]VariantMemory, 0, len(items))
	for _, it := range items {
		used, ok := 0.0, true
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
