// Package inprocess runs the built-in XGBoost runtime inside Hearth's own
// process: a worker is a loaded model with a concurrency slot. Starting one
// is loading the model (well under a millisecond for most models), and a
// request is a function call, with no process, no socket and no HTTP
// between the server and the model.
//
// What a separate process gives, an in-process worker does not: its memory
// is estimated from the model's size rather than measured and bounded by a
// cgroup, and a prediction cannot be interrupted once started. A panic in a
// prediction is recovered and fails only the request that caused it.
package inprocess

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"hearth/internal/runtime"
	"hearth/internal/xgboost"
	"hearth/internal/xgboost/xgbserve"
)

// Runtime starts in-process XGBoost workers. Every Spec it is given is a
// built-in XGBoost worker: the model is in Spec.ModelDir, and Spec.Env
// configures it as the container's environment does
// (SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, SAGEMAKER_INFERENCE_OUTPUT,
// MAX_CONTENT_LENGTH).
type Runtime struct {
	Logger *slog.Logger
}

var _ runtime.Runtime = (*Runtime)(nil)

// workerOverheadBytes is what a worker holds beyond its model: the
// request scratch buffers of a small request and the bookkeeping.
const workerOverheadBytes = 256 << 10

// Start loads the model in spec.ModelDir. The worker is ready when Start
// returns.
func (rt *Runtime) Start(ctx context.Context, spec runtime.Spec) (runtime.Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	model, err := xgboost.LoadDir(spec.ModelDir)
	if err != nil {
		return nil, fmt.Errorf("unable to load model: %w", err)
	}
	pred, err := xgbserve.NewPredictor(model, envLookup(spec.Env))
	if err != nil {
		return nil, err
	}
	if rt.Logger != nil {
		rt.Logger.Debug("in-process xgboost worker loaded", "worker", spec.Name, "objective", model.Objective(),
			"features", model.NumFeatures(), "trees", model.NumTrees(), "bytes", model.SizeBytes())
	}
	return &Process{
		pred:  pred.Predict,
		memMB: float64(model.SizeBytes()+workerOverheadBytes) / (1 << 20),
		done:  make(chan struct{}),
	}, nil
}

// envLookup reads KEY=value pairs as getenv would; the last one wins.
func envLookup(env []string) func(string) string {
	return func(key string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
				return v
			}
		}
		return ""
	}
}

// predictFunc is xgbserve.Predictor.Predict.
type predictFunc func(dst []byte, contentType string, hasContentType bool, accept string, body []byte) (int, string, []byte)

// Process is one in-process worker. It implements runtime.Process,
// runtime.Invoker and runtime.MemoryEstimator.
type Process struct {
	pred  predictFunc
	memMB float64

	stopOnce sync.Once
	done     chan struct{}
}

var (
	_ runtime.Process         = (*Process)(nil)
	_ runtime.Invoker         = (*Process)(nil)
	_ runtime.MemoryEstimator = (*Process)(nil)
)

// Addr is empty: the worker has no network address.
func (p *Process) Addr() string { return "" }

// Done is closed once the worker is stopped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is nil: an in-process worker ends only when stopped.
func (p *Process) Err() error { return nil }

// Stop unloads the worker at once; a prediction already running finishes.
func (p *Process) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() { close(p.done) })
	return nil
}

// Pid is 0: the worker is no process of its own.
func (p *Process) Pid() int { return 0 }

// Output is empty: the worker writes nothing.
func (p *Process) Output() string { return "" }

// MemoryEstimateMB is the model's size plus the worker's buffers.
func (p *Process) MemoryEstimateMB() float64 { return p.memMB }

// ErrStopped is returned for a request given to a stopped worker.
var ErrStopped = errors.New("the in-process worker was stopped")

// Invoke scores one request. A panic during the prediction is recovered
// and returned as an error: the request fails, nothing else does.
func (p *Process) Invoke(ctx context.Context, req *runtime.Request) (resp *runtime.Response, err error) {
	select {
	case <-p.done:
		return nil, ErrStopped
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer func() {
		if v := recover(); v != nil {
			resp, err = nil, fmt.Errorf("the prediction panicked: %v", v)
		}
	}()
	status, ct, body := p.pred(nil, req.ContentType, req.ContentType != "", req.Accept, req.Body)
	return &runtime.Response{Status: status, ContentType: ct, Body: body}, nil
}
