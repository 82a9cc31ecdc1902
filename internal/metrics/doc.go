// Package metrics records, aggregates, stores and queries CloudWatch-style
// metrics, and turns the data plane's events into the metrics SageMaker
// publishes for serverless endpoints.
//
// # Storage
//
// A Store keeps one time series per (namespace, metric name, sorted
// dimensions, unit). Every datapoint is aggregated into a bucket of the
// base period (Options.BasePeriod: 1, 5, 10, 20, 30 or 60 s) holding
// SampleCount, Sum, Minimum, Maximum and a digest for percentiles: exact
// values up to 128 per bucket, then a log-bucketed histogram whose
// percentiles are within 1% of the exact value (see sketch.go).
//
// Recording is cheap: resolve a handle once and keep it,
//
//	s := store.Series("Hearth/Test", "Latency", dims, metrics.UnitMicroseconds)
//	s.Add(t, v) // ~50 ns, no allocation
//
// Recent periods live in memory. Flush(ctx, now) — called periodically,
// or by Run from a ticker — writes the periods that have ended to SQLite
// (tables metric_series, metric_points, metric_rollups), rolls stored data
// up and expires it the way CloudWatch retains data:
//
//	base period < 60 s   kept 3 hours
//	60 s                 kept 15 days
//	300 s                kept 63 days
//	3600 s               kept 455 days
//
// The rollup and expiry plan is a pure function, planCompaction(levels,
// now). Data recorded for a period after it was rolled up is added to the
// coarser levels as well, so late datapoints are never lost. Sync writes
// every buffered period, complete or not, for shutdown.
//
// Query merges memory and storage. Its period must be a multiple of the
// resolution kept for the age of its start time (ErrPeriodTooFine
// otherwise, which CloudWatch answers with no datapoints). ListMetrics
// lists metrics with data in the last two weeks.
//
// # Endpoint metrics
//
// A Recorder, created with NewRecorder(store, opts), hands out one
// VariantRecorder per endpoint variant; the data plane keeps it and calls
// Invocation, ModelSetupTime, SetProvisioned, ProvisionedBusy and
// MemoryUtilization with the event times. Every store Flush finalises the
// provisioned-concurrency gauges up to the flush time. Dimensions are
// EndpointName and VariantName unless noted; 0/1 metrics are recorded once
// per request so that Sum counts and Average is a rate.
//
//	Namespace                 Metric                                               Unit          Value recorded
//	AWS/SageMaker             Invocations                                          None          1 per request served (not throttled)
//	AWS/SageMaker             Invocation4XXErrors                                  None          per request incl. throttled: 1 if the model answered 4xx or the request was throttled, else 0
//	AWS/SageMaker             Invocation5XXErrors                                  None          per request incl. throttled: 1 if the model answered 5xx or gave no usable answer, else 0
//	AWS/SageMaker             InvocationModelErrors                                None          per request incl. throttled: 1 if the model failed (non-2xx or no usable answer), else 0
//	AWS/SageMaker             ModelLatency                                         Microseconds  per request served: the model's time to answer
//	AWS/SageMaker             OverheadLatency                                      Microseconds  per request served: time added by Hearth, including any cold start
//	AWS/SageMaker             ModelSetupTime                                       Microseconds  per cold start: time to start a worker and load the model
//	AWS/SageMaker             ServerlessProvisionedConcurrencyInvocations          Count         per request served while PC > 0 (or by a provisioned worker): 1 if served by a provisioned worker, else 0
//	AWS/SageMaker             ServerlessProvisionedConcurrencySpilloverInvocations Count         same requests: 1 if served on demand (warm or cold), else 0
//	AWS/SageMaker             ServerlessProvisionedConcurrencyExecutions           Count         per base period with PC > 0 or busy provisioned workers: time-weighted average of busy provisioned workers (Average), and their Minimum/Maximum; 0 in idle periods
//	AWS/SageMaker             ServerlessProvisionedConcurrencyUtilization          None          per base period with PC > 0: time-weighted average of busy provisioned workers ÷ PC (0–1), Minimum/Maximum; 0 in idle periods
//	/aws/sagemaker/Endpoints  MemoryUtilization                                    Percent       as reported by the fleet (0–100)
//	Hearth/Endpoints          ThrottledRequests                                    Count         1 per throttled request; also with EndpointName alone
//	Hearth/Endpoints          ColdStarts                                           Count         1 per request that waited for a worker to start; also with EndpointName alone
//
// The two time-weighted metrics are stored as one statistic set per base
// period (SampleCount 1), so over longer periods Average is the mean of
// the per-period averages and SampleCount counts periods; their
// percentiles are unavailable, as for any statistic set whose minimum and
// maximum differ.
//
// The Recorder is also a prometheus.Collector on its own registry
// (Registry, Handler for GET /metrics): hearth_invocations_total{served},
// hearth_invocation_errors_total{class}, hearth_throttled_requests_total,
// hearth_cold_starts_total, the hearth_model_latency_seconds,
// hearth_overhead_latency_seconds and hearth_model_setup_seconds
// histograms, hearth_provisioned_concurrency, hearth_provisioned_busy and
// hearth_memory_utilization_percent gauges, all labelled endpoint and
// variant, and hearth_workers{kind,state} read at scrape time from a
// WorkerCounter.
package metrics
