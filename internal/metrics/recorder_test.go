package metrics

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var variantDims = []Dimension{{DimEndpointName, "ep"}, {DimVariantName, "AllTraffic"}}

type statsWant struct {
	ns, name    string
	dims        []Dimension
	unit        Unit
	count, sum  float64
	minV, maxV  float64
	checkMinMax bool
}

func checkMinuteStats(t *testing.T, s *Store, start time.Time, wants []statsWant) {
	t.Helper()
	for _, w := range wants {
		dps := query(t, s, Query{
			Metric: MetricID{Namespace: w.ns, Name: w.name, Dimensions: w.dims},
			Start:  start, End: start.Add(time.Minute), Period: time.Minute,
		})
		if len(dps) != 1 {
			t.Errorf("%s %s %v: %d datapoints, want 1", w.ns, w.name, w.dims, len(dps))
			continue
		}
		dp := dps[0]
		if dp.Unit != w.unit || dp.SampleCount != w.count || dp.Sum != w.sum {
			t.Errorf("%s %s: unit %s count %v sum %v, want %s %v %v", w.ns, w.name, dp.Unit, dp.SampleCount, dp.Sum, w.unit, w.count, w.sum)
		}
		if w.checkMinMax && (dp.Minimum != w.minV || dp.Maximum != w.maxV) {
			t.Errorf("%s %s: min %v max %v, want %v %v", w.ns, w.name, dp.Minimum, dp.Maximum, w.minV, w.maxV)
		}
	}
}

// TestRecorderInvocationSplit records a known mix of requests and reads
// every SageMaker and Hearth metric back, before and after a restart.
func TestRecorderInvocationSplit(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: t0}
	s, path := newTestStore(t, time.Second, clock)
	rec := NewRecorder(s, RecorderOptions{})
	v := rec.Variant("ep", "AllTraffic")
	if rec.Variant("ep", "AllTraffic") != v {
		t.Fatal("Variant returned a new recorder for the same variant")
	}
	v.SetProvisioned(t0, 2)
	ok := func(served Served) Outcome {
		return Outcome{Served: served, Status: 200, ModelLatency: 2 * time.Millisecond, OverheadLatency: 100 * time.Microsecond}
	}
	failed := func(served Served, status int) Outcome {
		o := ok(served)
		o.Status, o.ModelError = status, true
		return o
	}
	outcomes := []struct {
		o Outcome
		n int
	}{
		{ok(WarmProvisioned), 5},
		{ok(WarmOnDemand), 3},
		{Outcome{Served: Cold, Status: 200, ModelLatency: 2 * time.Millisecond, OverheadLatency: 900 * time.Millisecond}, 2},
		{Outcome{Served: Throttled}, 4},
		{failed(WarmOnDemand, 400), 2},
		{failed(WarmProvisioned, 500), 1},
		{failed(WarmOnDemand, 0), 1}, // no answer: a 5xx model error
	}
	at := t0
	for _, c := range outcomes {
		for range c.n {
			at = at.Add(time.Second)
			v.Invocation(at, c.o)
		}
	}
	v.ModelSetupTime(t0.Add(3*time.Second), 800*time.Millisecond)
	v.ModelSetupTime(t0.Add(4*time.Second), 600*time.Millisecond)
	v.MemoryUtilization(t0.Add(5*time.Second), 40)
	v.MemoryUtilization(t0.Add(6*time.Second), 60)

	endpointDims := []Dimension{{DimEndpointName, "ep"}}
	wants := []statsWant{
		{ns: NamespaceSageMaker, name: MetricInvocations, dims: variantDims, unit: UnitNone, count: 14, sum: 14},
		{ns: NamespaceSageMaker, name: MetricInvocation4XXErrors, dims: variantDims, unit: UnitNone, count: 18, sum: 6},
		{ns: NamespaceSageMaker, name: MetricInvocation5XXErrors, dims: variantDims, unit: UnitNone, count: 18, sum: 2},
		{ns: NamespaceSageMaker, name: MetricInvocationModelErrors, dims: variantDims, unit: UnitNone, count: 18, sum: 4},
		{ns: NamespaceSageMaker, name: MetricPCInvocations, dims: variantDims, unit: UnitCount, count: 14, sum: 6},
		{ns: NamespaceSageMaker, name: MetricPCSpilloverInvocations, dims: variantDims, unit: UnitCount, count: 14, sum: 8},
		{ns: NamespaceSageMaker, name: MetricModelLatency, dims: variantDims, unit: UnitMicroseconds, count: 14, sum: 14 * 2000, minV: 2000, maxV: 2000, checkMinMax: true},
		{ns: NamespaceSageMaker, name: MetricOverheadLatency, dims: variantDims, unit: UnitMicroseconds, count: 14, sum: 12*100 + 2*900000, minV: 100, maxV: 900000, checkMinMax: true},
		{ns: NamespaceSageMaker, name: MetricModelSetupTime, dims: variantDims, unit: UnitMicroseconds, count: 2, sum: 1400000, minV: 600000, maxV: 800000, checkMinMax: true},
		{ns: NamespaceEndpoints, name: MetricMemoryUtilization, dims: variantDims, unit: UnitPercent, count: 2, sum: 100, minV: 40, maxV: 60, checkMinMax: true},
		{ns: NamespaceHearth, name: MetricThrottledRequests, dims: variantDims, unit: UnitCount, count: 4, sum: 4},
		{ns: NamespaceHearth, name: MetricThrottledRequests, dims: endpointDims, unit: UnitCount, count: 4, sum: 4},
		{ns: NamespaceHearth, name: MetricColdStarts, dims: variantDims, unit: UnitCount, count: 2, sum: 2},
		{ns: NamespaceHearth, name: MetricColdStarts, dims: endpointDims, unit: UnitCount, count: 2, sum: 2},
	}
	clock.Set(t0.Add(time.Minute))
	checkMinuteStats(t, s, t0, wants)

	if err := s.Flush(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	s.db.Close()
	s2, err := Open(ctx, openDB(t, path), Options{BasePeriod: time.Second, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	checkMinuteStats(t, s2, t0, wants)
}

func TestRecorderSkipsPCMetricsWithoutPC(t *testing.T) {
	clock := &fakeClock{now: t0.Add(time.Minute)}
	s, _ := newTestStore(t, time.Second, clock)
	v := NewRecorder(s, RecorderOptions{}).Variant("ep", "AllTraffic")
	v.Invocation(t0, Outcome{Served: WarmOnDemand, Status: 200})
	v.Invocation(t0, Outcome{Served: Cold, Status: 200})
	for _, name := range []string{MetricPCInvocations, MetricPCSpilloverInvocations} {
		dps := query(t, s, Query{Metric: MetricID{Namespace: NamespaceSageMaker, Name: name, Dimensions: variantDims}, Start: t0, End: t0.Add(time.Minute), Period: time.Minute})
		if len(dps) != 0 {
			t.Errorf("%s recorded %+v for a variant without provisioned concurrency", name, dps)
		}
	}
}

type gaugeEvent struct {
	at   time.Duration
	pc   int // -1: no change
	busy int // -1: no change
}

func TestRecorderProvisionedConcurrencyGauges(t *testing.T) {
	type point struct{ avg, minV, maxV float64 }
	tests := []struct {
		name    string
		events  []gaugeEvent
		flushAt time.Duration
		exec    []point // one per minute from t0, for the first len minutes
		util    []point
	}{
		{
			name: "busy workers are averaged over time; idle minutes with PC are zero",
			events: []gaugeEvent{
				{0, 2, -1},
				{10 * time.Second, -1, 1},
				{40 * time.Second, -1, 2},
				{50 * time.Second, -1, 0},
			},
			flushAt: 4 * time.Minute,
			exec:    []point{{50.0 / 60, 0, 2}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}},
			util:    []point{{50.0 / 60 / 2, 0, 1}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}},
		},
		{
			name: "a busy period spanning minutes counts in each",
			events: []gaugeEvent{
				{0, 4, 4},
				{90 * time.Second, -1, 0},
			},
			flushAt: 2 * time.Minute,
			exec:    []point{{4, 4, 4}, {2, 0, 4}},
			util:    []point{{1, 1, 1}, {0.5, 0, 1}},
		},
		{
			name: "provisioned concurrency arriving mid-minute averages over the time it existed",
			events: []gaugeEvent{
				{0, 0, 0},
				{30 * time.Second, 4, 2},
			},
			flushAt: time.Minute,
			exec:    []point{{2, 2, 2}},
			util:    []point{{0.5, 0.5, 0.5}},
		},
		{
			name: "after PC drops to zero nothing more is emitted",
			events: []gaugeEvent{
				{0, 1, 0},
				{2 * time.Minute, 0, -1},
			},
			flushAt: 5 * time.Minute,
			exec:    []point{{0, 0, 0}, {0, 0, 0}},
			util:    []point{{0, 0, 0}, {0, 0, 0}},
		},
		{
			name: "an event earlier than the last counts at the last one's time",
			events: []gaugeEvent{
				{30 * time.Second, 2, 0},
				{45 * time.Second, -1, 2},
				{40 * time.Second, -1, 1},
			},
			flushAt: time.Minute,
			exec:    []point{{0.5, 0, 1}},
			util:    []point{{0.25, 0, 0.5}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: t0.Add(time.Hour)}
			s, _ := newTestStore(t, time.Minute, clock)
			v := NewRecorder(s, RecorderOptions{}).Variant("ep", "AllTraffic")
			for _, e := range tt.events {
				if e.pc >= 0 {
					v.SetProvisioned(t0.Add(e.at), e.pc)
				}
				if e.busy >= 0 {
					v.ProvisionedBusy(t0.Add(e.at), e.busy)
				}
			}
			if err := s.Flush(context.Background(), t0.Add(tt.flushAt)); err != nil {
				t.Fatal(err)
			}
			for _, m := range []struct {
				name string
				want []point
			}{{MetricPCExecutions, tt.exec}, {MetricPCUtilization, tt.util}} {
				dps := query(t, s, Query{
					Metric: MetricID{Namespace: NamespaceSageMaker, Name: m.name, Dimensions: variantDims},
					Start:  t0, End: t0.Add(time.Hour), Period: time.Minute,
				})
				got := make([]point, len(dps))
				for i, dp := range dps {
					if !dp.Timestamp.Equal(t0.Add(time.Duration(i) * time.Minute)) {
						t.Errorf("%s datapoint %d at %v, want minute %d", m.name, i, dp.Timestamp, i)
					}
					got[i] = point{dp.Average(), dp.Minimum, dp.Maximum}
				}
				if diff := cmp.Diff(m.want, got, cmp.AllowUnexported(point{}), cmpopts.EquateApprox(0, 1e-9)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", m.name, diff)
				}
			}
		})
	}
}

type fakeWorkers []WorkerCount

func (f fakeWorkers) WorkerCounts() []WorkerCount { return f }

func TestRecorderPrometheus(t *testing.T) {
	clock := &fakeClock{now: t0}
	s, _ := newTestStore(t, time.Second, clock)
	rec := NewRecorder(s, RecorderOptions{Workers: fakeWorkers{
		{Endpoint: "ep", Variant: "AllTraffic", Kind: KindProvisioned, State: StateIdle, Count: 2},
		{Endpoint: "ep", Variant: "AllTraffic", Kind: KindOnDemand, State: StateBusy, Count: 1},
		{Endpoint: "ep", Variant: "AllTraffic", Kind: KindOnDemand, State: StateBusy, Count: 2},
	}})
	v := rec.Variant("ep", "AllTraffic")
	v.SetProvisioned(t0, 2)
	for range 3 {
		v.Invocation(t0, Outcome{Served: WarmProvisioned, Status: 200, ModelLatency: 3 * time.Millisecond})
	}
	v.Invocation(t0, Outcome{Served: Cold, Status: 503, ModelError: true})
	v.Invocation(t0, Outcome{Served: Throttled})
	v.ModelSetupTime(t0, time.Second)

	scrape := func() string {
		rr := httptest.NewRecorder()
		rec.Handler().ServeHTTP(rr, httptest.NewRequest("GET", "/metrics", nil))
		b, _ := io.ReadAll(rr.Result().Body)
		return string(b)
	}
	body := scrape()
	for _, line := range []string{
		`hearth_invocations_total{endpoint="ep",served="warm-provisioned",variant="AllTraffic"} 3`,
		`hearth_invocations_total{endpoint="ep",served="cold",variant="AllTraffic"} 1`,
		`hearth_invocation_errors_total{class="4xx",endpoint="ep",variant="AllTraffic"} 1`,
		`hearth_invocation_errors_total{class="5xx",endpoint="ep",variant="AllTraffic"} 1`,
		`hearth_invocation_errors_total{class="model",endpoint="ep",variant="AllTraffic"} 1`,
		`hearth_throttled_requests_total{endpoint="ep",variant="AllTraffic"} 1`,
		`hearth_cold_starts_total{endpoint="ep",variant="AllTraffic"} 1`,
		`hearth_model_latency_seconds_count{endpoint="ep",variant="AllTraffic"} 4`,
		`hearth_model_latency_seconds_bucket{endpoint="ep",variant="AllTraffic",le="0.0025"} 1`,
		`hearth_model_latency_seconds_bucket{endpoint="ep",variant="AllTraffic",le="0.005"} 4`,
		`hearth_model_setup_seconds_sum{endpoint="ep",variant="AllTraffic"} 1`,
		`hearth_provisioned_concurrency{endpoint="ep",variant="AllTraffic"} 2`,
		`hearth_workers{endpoint="ep",kind="provisioned",state="idle",variant="AllTraffic"} 2`,
		`hearth_workers{endpoint="ep",kind="on-demand",state="busy",variant="AllTraffic"} 3`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("scrape lacks %s", line)
		}
	}
	rec.Forget("ep", "AllTraffic")
	if body := scrape(); strings.Contains(body, `hearth_invocations_total{`) {
		t.Errorf("series remain after Forget:\n%s", body)
	}
}
