package metrics

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespaces of the metrics a Recorder publishes.
const (
	NamespaceSageMaker = "AWS/SageMaker"
	NamespaceEndpoints = "/aws/sagemaker/Endpoints"
	NamespaceHearth    = "Hearth/Endpoints"
)

// Dimension names of endpoint metrics.
const (
	DimEndpointName = "EndpointName"
	DimVariantName  = "VariantName"
)

// Metric names recorded for endpoint variants; see the package
// documentation for their exact definitions.
const (
	MetricInvocations            = "Invocations"
	MetricInvocation4XXErrors    = "Invocation4XXErrors"
	MetricInvocation5XXErrors    = "Invocation5XXErrors"
	MetricInvocationModelErrors  = "InvocationModelErrors"
	MetricModelLatency           = "ModelLatency"
	MetricOverheadLatency        = "OverheadLatency"
	MetricModelSetupTime         = "ModelSetupTime"
	MetricPCInvocations          = "ServerlessProvisionedConcurrencyInvocations"
	MetricPCSpilloverInvocations = "ServerlessProvisionedConcurrencySpilloverInvocations"
	MetricPCExecutions           = "ServerlessProvisionedConcurrencyExecutions"
	MetricPCUtilization          = "ServerlessProvisionedConcurrencyUtilization"
	MetricMemoryUtilization      = "MemoryUtilization"
	MetricThrottledRequests      = "ThrottledRequests"
	MetricColdStarts             = "ColdStarts"
)

// Served says how a request was handled.
type Served int

const (
	// WarmProvisioned: served by an already running provisioned worker.
	WarmProvisioned Served = iota + 1
	// WarmOnDemand: served by an already running on-demand worker.
	WarmOnDemand
	// Cold: waited for a worker to start (a cold start).
	Cold
	// Throttled: refused because the variant was at its concurrency limit.
	Throttled
)

// String is the served label's value, the same word X-Hearth-Served-By
// carries.
func (s Served) String() string {
	switch s {
	case WarmProvisioned:
		return "warm-provisioned"
	case WarmOnDemand:
		return "warm-on-demand"
	case Cold:
		return "cold"
	case Throttled:
		return "throttled"
	}
	return "unknown"
}

// Outcome describes one InvokeEndpoint request as the data plane saw it.
type Outcome struct {
	Served Served
	// Status is the HTTP status the model container answered; 0 when it
	// gave no usable answer (connection failure, timeout, malformed reply).
	Status int
	// ModelError marks a failure of the model container: any non-2xx
	// status, or no usable answer.
	ModelError bool
	// ModelLatency is the time the container took to answer.
	ModelLatency time.Duration
	// OverheadLatency is the time Hearth added, including any cold start.
	OverheadLatency time.Duration
}

// WorkerKind distinguishes provisioned from on-demand workers.
type WorkerKind string

// Worker kinds.
const (
	KindProvisioned WorkerKind = "provisioned"
	KindOnDemand    WorkerKind = "on-demand"
)

// WorkerState is what a worker is doing.
type WorkerState string

// Worker states.
const (
	StateIdle     WorkerState = "idle"
	StateBusy     WorkerState = "busy"
	StateStarting WorkerState = "starting"
)

// WorkerCount is the number of workers of one variant in one kind and state.
type WorkerCount struct {
	Endpoint string
	Variant  string
	Kind     WorkerKind
	State    WorkerState
	Count    int
}

// WorkerCounter reports worker counts at scrape time; the fleet implements it.
type WorkerCounter interface {
	WorkerCounts() []WorkerCount
}

// RecorderOptions configure a Recorder. The zero value is usable.
type RecorderOptions struct {
	// Workers, when set, is asked for worker counts at every Prometheus scrape.
	Workers WorkerCounter
	// LatencyBuckets are the Prometheus histogram buckets, in seconds, for
	// latencies. Nil means DefaultLatencyBuckets.
	LatencyBuckets []float64
}

// DefaultLatencyBuckets span 100 µs to 60 s.
var DefaultLatencyBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
}

// Recorder turns data-plane events into the SageMaker endpoint metrics
// (stored in a Store) and Prometheus metrics (on its own registry).
// It is safe for concurrent use.
type Recorder struct {
	store    *Store
	workers  WorkerCounter
	registry *prometheus.Registry

	invocations  *prometheus.CounterVec
	errors       *prometheus.CounterVec
	throttled    *prometheus.CounterVec
	coldStarts   *prometheus.CounterVec
	modelLatency *prometheus.HistogramVec
	overhead     *prometheus.HistogramVec
	setup        *prometheus.HistogramVec
	provisioned  *prometheus.GaugeVec
	busy         *prometheus.GaugeVec
	memory       *prometheus.GaugeVec
	workersDesc  *prometheus.Desc

	mu       sync.Mutex
	variants map[[2]string]*VariantRecorder
}

// NewRecorder returns a Recorder writing to store. Every store Flush
// finalises the recorder's time-weighted metrics up to the flush time.
func NewRecorder(store *Store, opts RecorderOptions) *Recorder {
	buckets := opts.LatencyBuckets
	if buckets == nil {
		buckets = DefaultLatencyBuckets
	}
	ev := []string{"endpoint", "variant"}
	r := &Recorder{
		store:    store,
		workers:  opts.Workers,
		registry: prometheus.NewRegistry(),
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_invocations_total",
			Help: "InvokeEndpoint requests served, by how they were served (warm-provisioned, warm-on-demand, cold), as X-Hearth-Served-By says.",
		}, []string{"endpoint", "variant", "served"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_invocation_errors_total",
			Help: "Failed InvokeEndpoint requests by class: 4xx (including throttled), 5xx, model.",
		}, []string{"endpoint", "variant", "class"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_throttled_requests_total",
			Help: "InvokeEndpoint requests refused because the variant was at its concurrency limit.",
		}, ev),
		coldStarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_cold_starts_total",
			Help: "InvokeEndpoint requests that waited for a worker to start.",
		}, ev),
		modelLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hearth_model_latency_seconds", Help: "Time the model container took to answer.", Buckets: buckets,
		}, ev),
		overhead: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hearth_overhead_latency_seconds", Help: "Time Hearth added to a request, including cold starts.", Buckets: buckets,
		}, ev),
		setup: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hearth_model_setup_seconds", Help: "Time to start a worker and load its model.", Buckets: buckets,
		}, ev),
		provisioned: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hearth_provisioned_concurrency", Help: "Provisioned concurrency of the variant.",
		}, ev),
		busy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hearth_provisioned_busy", Help: "Provisioned workers currently running a request.",
		}, ev),
		memory: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hearth_memory_utilization_percent", Help: "Last reported memory utilization of the variant's workers.",
		}, ev),
		workersDesc: prometheus.NewDesc("hearth_workers",
			"Workers by kind (provisioned, on-demand) and state (idle, busy, starting).",
			[]string{"endpoint", "variant", "kind", "state"}, nil),
		variants: make(map[[2]string]*VariantRecorder),
	}
	r.registry.MustRegister(r)
	store.onFlush(r.finalize)
	return r
}

// Registry returns the recorder's own Prometheus registry, to which other
// collectors may be added.
func (r *Recorder) Registry() *prometheus.Registry { return r.registry }

// Handler serves the registry in the Prometheus exposition format, for
// GET /metrics.
func (r *Recorder) Handler() http.Handler {
	return promhttp.HandlerFor(r.registry, promhttp.HandlerOpts{})
}

func (r *Recorder) vecs() []prometheus.Collector {
	return []prometheus.Collector{r.invocations, r.errors, r.throttled, r.coldStarts,
		r.modelLatency, r.overhead, r.setup, r.provisioned, r.busy, r.memory}
}

// Describe implements prometheus.Collector.
func (r *Recorder) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range r.vecs() {
		c.Describe(ch)
	}
	ch <- r.workersDesc
}

// Collect implements prometheus.Collector.
func (r *Recorder) Collect(ch chan<- prometheus.Metric) {
	for _, c := range r.vecs() {
		c.Collect(ch)
	}
	if r.workers == nil {
		return
	}
	type key struct {
		endpoint, variant string
		kind              WorkerKind
		state             WorkerState
	}
	counts := make(map[key]int)
	var order []key
	for _, wc := range r.workers.WorkerCounts() {
		k := key{wc.Endpoint, wc.Variant, wc.Kind, wc.State}
		if _, ok := counts[k]; !ok {
			order = append(order, k)
		}
		counts[k] += wc.Count
	}
	for _, k := range order {
		ch <- prometheus.MustNewConstMetric(r.workersDesc, prometheus.GaugeValue, float64(counts[k]),
			k.endpoint, k.variant, string(k.kind), string(k.state))
	}
}

// Variant returns the recorder for one endpoint variant, creating it on
// first use. Keep it: its methods are the request path.
func (r *Recorder) Variant(endpoint, variant string) *VariantRecorder {
	k := [2]string{endpoint, variant}
	r.mu.Lock()
	defer r.mu.Unlock()
	if v := r.variants[k]; v != nil {
		return v
	}
	v := r.newVariant(endpoint, variant)
	r.variants[k] = v
	return v
}

// Forget drops a variant's Prometheus series and stops finalising its
// provisioned-concurrency metrics, e.g. after its endpoint is deleted.
// Recorded CloudWatch data is kept.
// A VariantRecorder kept from before goes on recording CloudWatch data,
// but its Prometheus series are no longer exported; Variant makes a new one.
func (r *Recorder) Forget(endpoint, variant string) {
	r.mu.Lock()
	delete(r.variants, [2]string{endpoint, variant})
	r.mu.Unlock()
	labels := prometheus.Labels{"endpoint": endpoint, "variant": variant}
	for _, c := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		r.invocations, r.errors, r.throttled, r.coldStarts, r.modelLatency,
		r.overhead, r.setup, r.provisioned, r.busy, r.memory,
	} {
		c.DeletePartialMatch(labels)
	}
}

func (r *Recorder) finalize(now time.Time) {
	r.mu.Lock()
	vs := make([]*VariantRecorder, 0, len(r.variants))
	for _, v := range r.variants {
		vs = append(vs, v)
	}
	r.mu.Unlock()
	for _, v := range vs {
		v.advanceTo(now)
	}
}

// VariantRecorder records the metrics of one endpoint variant. Its series
// and Prometheus children are resolved once, so recording does not allocate.
type VariantRecorder struct {
	period int64

	invocations, err4xx, err5xx, modelErr     *Series
	modelLatency, overhead, setup             *Series
	pcInvocations, pcSpillover                *Series
	pcExecutions, pcUtilization               *Series
	memory                                    *Series
	throttled, throttledEP, cold, coldEP      *Series
	promServed                                [Throttled]prometheus.Counter // indexed by Served-1
	prom4xx, prom5xx, promModel, promThrottle prometheus.Counter
	promCold                                  prometheus.Counter
	promModelLatency, promOverhead, promSetup prometheus.Observer
	promPC, promBusy, promMemory              prometheus.Gauge

	pcNow atomic.Int64 // provisioned concurrency, read on the request path

	mu    sync.Mutex
	gauge gaugeState
}

func (r *Recorder) newVariant(endpoint, variant string) *VariantRecorder {
	vd := []Dimension{{DimEndpointName, endpoint}, {DimVariantName, variant}}
	ed := []Dimension{{DimEndpointName, endpoint}}
	st := r.store
	sm := func(name string, unit Unit) *Series { return st.Series(NamespaceSageMaker, name, vd, unit) }
	v := &VariantRecorder{
		period:        st.period,
		invocations:   sm(MetricInvocations, UnitNone),
		err4xx:        sm(MetricInvocation4XXErrors, UnitNone),
		err5xx:        sm(MetricInvocation5XXErrors, UnitNone),
		modelErr:      sm(MetricInvocationModelErrors, UnitNone),
		modelLatency:  sm(MetricModelLatency, UnitMicroseconds),
		overhead:      sm(MetricOverheadLatency, UnitMicroseconds),
		setup:         sm(MetricModelSetupTime, UnitMicroseconds),
		pcInvocations: sm(MetricPCInvocations, UnitCount),
		pcSpillover:   sm(MetricPCSpilloverInvocations, UnitCount),
		pcExecutions:  sm(MetricPCExecutions, UnitCount),
		pcUtilization: sm(MetricPCUtilization, UnitNone),
		memory:        st.Series(NamespaceEndpoints, MetricMemoryUtilization, vd, UnitPercent),
		throttled:     st.Series(NamespaceHearth, MetricThrottledRequests, vd, UnitCount),
		throttledEP:   st.Series(NamespaceHearth, MetricThrottledRequests, ed, UnitCount),
		cold:          st.Series(NamespaceHearth, MetricColdStarts, vd, UnitCount),
		coldEP:        st.Series(NamespaceHearth, MetricColdStarts, ed, UnitCount),
	}
	for _, s := range []Served{WarmProvisioned, WarmOnDemand, Cold} {
		v.promServed[s-1] = r.invocations.WithLabelValues(endpoint, variant, s.String())
	}
	v.prom4xx = r.errors.WithLabelValues(endpoint, variant, "4xx")
	v.prom5xx = r.errors.WithLabelValues(endpoint, variant, "5xx")
	v.promModel = r.errors.WithLabelValues(endpoint, variant, "model")
	v.promThrottle = r.throttled.WithLabelValues(endpoint, variant)
	v.promCold = r.coldStarts.WithLabelValues(endpoint, variant)
	v.promModelLatency = r.modelLatency.WithLabelValues(endpoint, variant)
	v.promOverhead = r.overhead.WithLabelValues(endpoint, variant)
	v.promSetup = r.setup.WithLabelValues(endpoint, variant)
	v.promPC = r.provisioned.WithLabelValues(endpoint, variant)
	v.promBusy = r.busy.WithLabelValues(endpoint, variant)
	v.promMemory = r.memory.WithLabelValues(endpoint, variant)
	return v
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func micros(d time.Duration) float64 { return float64(d.Microseconds()) }

// Invocation records one InvokeEndpoint request that finished (or was
// refused) at t.
func (v *VariantRecorder) Invocation(t time.Time, o Outcome) {
	if o.Served == Throttled {
		v.throttled.Add(t, 1)
		v.throttledEP.Add(t, 1)
		v.err4xx.Add(t, 1)
		v.err5xx.Add(t, 0)
		v.modelErr.Add(t, 0)
		v.promThrottle.Inc()
		v.prom4xx.Inc()
		return
	}
	is4xx := o.Status >= 400 && o.Status < 500
	is5xx := (o.Status >= 500 && o.Status < 600) || (o.Status == 0 && o.ModelError)
	isModel := o.ModelError || o.Status < 200 || o.Status >= 300
	v.invocations.Add(t, 1)
	v.err4xx.Add(t, b2f(is4xx))
	v.err5xx.Add(t, b2f(is5xx))
	v.modelErr.Add(t, b2f(isModel))
	v.modelLatency.Add(t, micros(o.ModelLatency))
	v.overhead.Add(t, micros(o.OverheadLatency))
	provisioned := o.Served == WarmProvisioned
	if provisioned || v.pcNow.Load() > 0 {
		v.pcInvocations.Add(t, b2f(provisioned))
		v.pcSpillover.Add(t, b2f(!provisioned))
	}
	if o.Served == Cold {
		v.cold.Add(t, 1)
		v.coldEP.Add(t, 1)
		v.promCold.Inc()
	}
	if o.Served >= WarmProvisioned && o.Served <= Cold {
		v.promServed[o.Served-1].Inc()
	}
	if is4xx {
		v.prom4xx.Inc()
	}
	if is5xx {
		v.prom5xx.Inc()
	}
	if isModel {
		v.promModel.Inc()
	}
	v.promModelLatency.Observe(o.ModelLatency.Seconds())
	v.promOverhead.Observe(o.OverheadLatency.Seconds())
}

// ModelSetupTime records one cold start that finished at t after d.
func (v *VariantRecorder) ModelSetupTime(t time.Time, d time.Duration) {
	v.setup.Add(t, micros(d))
	v.promSetup.Observe(d.Seconds())
}

// MemoryUtilization records the memory use of the variant's workers, in
// percent of their memory size.
func (v *VariantRecorder) MemoryUtilization(t time.Time, percent float64) {
	v.memory.Add(t, percent)
	v.promMemory.Set(percent)
}

// SetProvisioned records that the variant's provisioned concurrency became
// pc at t.
func (v *VariantRecorder) SetProvisioned(t time.Time, pc int) {
	v.pcNow.Store(int64(pc))
	v.promPC.Set(float64(pc))
	v.mu.Lock()
	defer v.mu.Unlock()
	v.advance(t)
	v.gauge.pc = pc
}

// ProvisionedBusy records that busy provisioned workers were running a
// request from t on.
func (v *VariantRecorder) ProvisionedBusy(t time.Time, busy int) {
	v.promBusy.Set(float64(busy))
	v.mu.Lock()
	defer v.mu.Unlock()
	v.advance(t)
	v.gauge.busy = busy
}

func (v *VariantRecorder) advanceTo(now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.advance(now)
}

// gaugeState integrates provisioned concurrency and busy provisioned
// workers over the current period. Minimum and maximum are taken over the
// values that held for some time in the period; a value replaced at the
// same instant it was set does not count.
type gaugeState struct {
	started bool
	pc      int
	busy    int
	last    time.Time // integrated up to here
	period  int64     // start of the current period, Unix seconds

	covered time.Duration // time with pc > 0 or busy > 0
	pcTime  time.Duration // time with pc > 0
	execInt float64       // ∫ busy dt, worker-seconds
	utilInt float64       // ∫ busy/pc dt over pcTime, seconds
	any     bool          // the step function was observed in this period
	execMin float64
	execMax float64
	utilAny bool
	utilMin float64
	utilMax float64
}

// observe folds the current values into the period's extremes.
func (g *gaugeState) observe() {
	b := float64(g.busy)
	if !g.any {
		g.execMin, g.execMax, g.any = b, b, true
	} else {
		g.execMin, g.execMax = min(g.execMin, b), max(g.execMax, b)
	}
	if g.pc > 0 {
		u := b / float64(g.pc)
		if !g.utilAny {
			g.utilMin, g.utilMax, g.utilAny = u, u, true
		} else {
			g.utilMin, g.utilMax = min(g.utilMin, u), max(g.utilMax, u)
		}
	}
}

func (g *gaugeState) integrate(dt time.Duration) {
	if dt <= 0 || (g.pc <= 0 && g.busy <= 0) {
		return
	}
	g.observe()
	g.covered += dt
	g.execInt += float64(g.busy) * dt.Seconds()
	if g.pc > 0 {
		g.pcTime += dt
		g.utilInt += float64(g.busy) / float64(g.pc) * dt.Seconds()
	}
}

// advance integrates the gauges up to t, emitting a datapoint for every
// period that ends on the way. Events earlier than the last one are taken
// to happen at the last one's time. v.mu must be held.
func (v *VariantRecorder) advance(t time.Time) {
	g := &v.gauge
	if !g.started {
		g.started = true
		g.last = t
		g.period = floorTo(t.Unix(), v.period)
		return
	}
	if !t.After(g.last) {
		return
	}
	for {
		end := time.Unix(g.period+v.period, 0)
		if t.Before(end) {
			g.integrate(t.Sub(g.last))
			g.last = t
			return
		}
		g.integrate(end.Sub(g.last))
		v.emit()
		g.last = end
		g.period += v.period
		if g.pc <= 0 && g.busy <= 0 {
			// Idle without provisioned concurrency: nothing to emit until
			// the next event, so skip straight to t's period.
			g.period = floorTo(t.Unix(), v.period)
			g.last = t
			return
		}
	}
}

// emit records the closing period's Executions and Utilization and resets
// the accumulators. v.mu must be held.
func (v *VariantRecorder) emit() {
	g := &v.gauge
	ts := time.Unix(g.period, 0)
	if g.covered > 0 {
		v.pcExecutions.AddStatistics(ts, StatisticSet{
			SampleCount: 1, Sum: g.execInt / g.covered.Seconds(), Minimum: g.execMin, Maximum: g.execMax,
		})
	}
	if g.pcTime > 0 {
		v.pcUtilization.AddStatistics(ts, StatisticSet{
			SampleCount: 1, Sum: g.utilInt / g.pcTime.Seconds(), Minimum: g.utilMin, Maximum: g.utilMax,
		})
	}
	g.covered, g.pcTime, g.execInt, g.utilInt = 0, 0, 0, 0
	g.any, g.utilAny = false, false
}
