package main

import (
	"context"
	"time"

	"hearth/internal/autoscaling"
	"hearth/internal/autoscaling/tracking"
	"hearth/internal/fleet"
	"hearth/internal/metrics"
)

// fleetMetrics records the fleet's events as CloudWatch and Prometheus
// metrics.
type fleetMetrics struct{ r *metrics.Recorder }

var _ fleet.Observer = fleetMetrics{}

func (m fleetMetrics) Variant(endpoint, variant string) fleet.VariantObserver {
	return variantMetrics{m.r.Variant(endpoint, variant)}
}

// variantMetrics records one variant's events.
type variantMetrics struct{ v *metrics.VariantRecorder }

var servedAs = [...]metrics.Served{
	fleet.WarmProvisioned: metrics.WarmProvisioned,
	fleet.WarmOnDemand:    metrics.WarmOnDemand,
	fleet.Cold:            metrics.Cold,
	fleet.Throttled:       metrics.Throttled,
}

func (m variantMetrics) Invoked(at time.Time, inv fleet.Invocation) {
	m.v.Invocation(at, metrics.Outcome{
		Served:          servedAs[inv.Served],
		Status:          inv.Status,
		ModelError:      inv.Failed || inv.Status < 200 || inv.Status > 299,
		ModelLatency:    inv.ModelLatency,
		OverheadLatency: inv.Overhead,
	})
}

func (m variantMetrics) ColdStart(at time.Time, setup time.Duration) {
	m.v.ModelSetupTime(at, setup)
}

func (m variantMetrics) ProvisionedBusy(at time.Time, busy, provisioned int) {
	m.v.SetProvisioned(at, provisioned)
	m.v.ProvisionedBusy(at, busy)
}

// workerCounts gives Prometheus the fleet's worker census.
type workerCounts struct{ f *fleet.Fleet }

func (w *workerCounts) WorkerCounts() []metrics.WorkerCount {
	if w.f == nil {
		return nil
	}
	fc := w.f.WorkerCounts()
	out := make([]metrics.WorkerCount, len(fc))
	for i, c := range fc {
		out[i] = metrics.WorkerCount{Endpoint: c.Endpoint, Variant: c.Variant, Kind: metrics.WorkerKind(c.Kind), State: metrics.WorkerState(c.State), Count: c.Count}
	}
	return out
}

// scalingMetrics reads metric windows for target tracking from the store.
type scalingMetrics struct {
	store   *metrics.Store
	targets scalingTargets
}

func (s scalingMetrics) Window(ctx context.Context, q autoscaling.MetricQuery, period time.Duration, end time.Time, n int) ([]tracking.Datapoint, error) {
	name := q.MetricName
	perInstance := false
	if q.Namespace == "AWS/SageMaker" && name == "InvocationsPerInstance" {
		// Hearth records Invocations; per instance is that ÷ the count.
		name, perInstance = "Invocations", true
	}
	dims := make([]metrics.Dimension, 0, len(q.Dimensions))
	for k, v := range q.Dimensions {
		dims = append(dims, metrics.Dimension{Name: k, Value: v})
	}
	dps, err := s.store.Query(ctx, metrics.Query{
		Metric: metrics.NewMetricID(q.Namespace, name, dims),
		Start:  end.Add(-time.Duration(n) * period), End: end, Period: period,
	})
	if err != nil {
		return nil, err
	}
	div := 1.0
	if perInstance {
		if c, err := s.targets.Capacity(ctx, q.Dimensions["EndpointName"], q.Dimensions["VariantName"]); err == nil && c.Instances > 0 {
			div = float64(c.Instances)
		}
	}
	out := make([]tracking.Datapoint, 0, len(dps))
	for _, dp := range dps {
		out = append(out, tracking.Datapoint{Timestamp: dp.Timestamp, Value: dp.Statistic(metrics.Statistic(q.Statistic)) / div})
	}
	return out, nil
}
