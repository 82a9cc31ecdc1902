package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"hearth/internal/runtime"
)

// Served says how an invocation found its worker.
type Served int

const (
	// WarmProvisioned: an idle provisioned worker.
	WarmProvisioned Served = iota
	// WarmOnDemand: an idle on-demand worker still warm.
	WarmOnDemand
	// Cold: an on-demand worker started for this request.
	Cold
	// Throttled: refused, MaxConcurrency requests were in flight.
	Throttled
)

func (s Served) String() string {
	return [...]string{"warm-provisioned", "warm-on-demand", "cold", "throttled"}[s]
}

// Request is one InvokeEndpoint call: what the worker is sent, and where
// to.
type Request struct {
	runtime.Request
	Endpoint      string
	TargetVariant string
	// RequestID is the API request's id, for the server's log.
	RequestID string
}

// Response is the worker's answer, and how it was served.
type Response struct {
	runtime.Response
	Variant string
	Served  Served
}

// Invocation is what the Observer learns of a request.
type Invocation struct {
	Served Served
	// Status is the model's HTTP status (0 when no worker answered).
	Status int
	// ModelLatency is the time the worker took; Overhead everything else,
	// cold start included.
	ModelLatency, Overhead time.Duration
	// Failed is set when the worker died or timed out.
	Failed bool
}

// ErrorKind classifies invoke failures for the API layer.
type ErrorKind int

const (
	NotFound      ErrorKind = iota // no such endpoint
	NotInService                   // endpoint exists but serves nothing yet
	NoVariant                      // target variant unknown
	TooLarge                       // payload over the variant's limit
	Throttle                       // MaxConcurrency requests in flight
	ModelFailure                   // the model answered non-2xx
	WorkerFailure                  // the worker died, hung or could not start
	Unavailable                    // no capacity on the host
)

// Error is an invoke failure.
type Error struct {
	Kind     ErrorKind
	Endpoint string
	Variant  string
	Message  string
	// For ModelFailure: what the model said.
	ModelStatus int
	ModelBody   []byte
	MaxConc     int
}

func (e *Error) Error() string { return e.Message }

// Payload limits (SageMaker: 4 MB serverless, 6 MB instance-based).
const (
	ServerlessMaxPayload = 4 << 20
	InstanceMaxPayload   = 6 << 20
)

// Invoke routes req to a worker of the endpoint's active deployment.
func (f *Fleet) Invoke(ctx context.Context, req *Request) (*Response, error) {
	start := f.opts.Clock.Now()
	f.mu.RLock()
	es := f.endpoints[strings.ToLower(req.Endpoint)]
	var g *generation
	if es != nil {
		g = es.active
	}
	f.mu.RUnlock()
	if es == nil {
		return nil, &Error{Kind: NotFound, Endpoint: req.Endpoint,
			Message: fmt.Sprintf("Endpoint %s of account %s not found.", req.Endpoint, f.opts.AccountID)}
	}
	if g == nil {
		return nil, &Error{Kind: NotInService, Endpoint: req.Endpoint,
			Message: fmt.Sprintf("Endpoint %s of account %s is not in service.", req.Endpoint, f.opts.AccountID)}
	}
	select {
	case <-g.ready:
	default:
		select {
		case <-g.ready:
		case <-ctx.Done():
			// A restored deployment whose pools are still being made.
			return nil, &Error{Kind: WorkerFailure, Endpoint: req.Endpoint, Message: "Request canceled while the endpoint was being restored."}
		}
	}
	if g.err != nil {
		return nil, &Error{Kind: NotInService, Endpoint: req.Endpoint,
			Message: fmt.Sprintf("Endpoint %s of account %s is not in service: %v", req.Endpoint, f.opts.AccountID, g.err)}
	}
	f.mu.RLock()
	pr, err := g.pickVariant(req.TargetVariant)
	f.mu.RUnlock()
	if err != nil {
		if errors.Is(err, errNoVariant) {
			return nil, &Error{Kind: NoVariant, Endpoint: req.Endpoint, Variant: req.TargetVariant,
				Message: fmt.Sprintf("Endpoint %s does not have target variant %s.", req.Endpoint, req.TargetVariant)}
		}
		return nil, &Error{Kind: NotInService, Endpoint: req.Endpoint, Message: fmt.Sprintf("Endpoint %s has no variant with traffic weight above 0.", req.Endpoint)}
	}
	limit := InstanceMaxPayload
	if pr.variant.Serverless != nil {
		limit = ServerlessMaxPayload
	}
	if len(req.Body) > limit {
		return nil, &Error{Kind: TooLarge, Endpoint: req.Endpoint, Variant: pr.variant.Name,
			Message: fmt.Sprintf("Request payload of %d bytes exceeds the %d-byte limit of variant %s.", len(req.Body), limit, pr.variant.Name)}
	}
	w, served, err := pr.acquire(ctx)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Kind == Throttle {
			f.observe(pr, start, Invocation{Served: Throttled})
			f.logInvocation(ctx, pr, req, nil, Invocation{Served: Throttled, Status: 429}, "ThrottlingException")
		}
		return nil, err
	}
	if served == Cold {
		setup := f.opts.Clock.Now().Sub(start)
		if pr.obs != nil {
			pr.obs.ColdStart(start, setup)
		}
		f.log.LogAttrs(ctx, slog.LevelInfo, "cold start", slog.String("endpoint", pr.endpoint), slog.String("variant", pr.variant.Name),
			slog.String("worker", w.name), slog.Float64("setup_ms", ms(setup)), slog.String("request_id", req.RequestID))
	}
	resp, modelLatency, err := f.forward(ctx, w, req, limit)
	if errors.Is(err, errNotSent) {
		// Ended before it was sent: the worker is as it was.
		pr.release(w, false)
		return nil, &Error{Kind: WorkerFailure, Endpoint: req.Endpoint, Variant: pr.variant.Name,
			Message: fmt.Sprintf("Request canceled before it was sent to production variant %s: %v", pr.variant.Name, ctx.Err())}
	}
	pr.release(w, err != nil)
	inv := Invocation{Served: served, ModelLatency: modelLatency, Overhead: f.opts.Clock.Now().Sub(start) - modelLatency}
	if err != nil {
		inv.Failed = true
		f.observe(pr, start, inv)
		f.logInvocation(ctx, pr, req, w, inv, "ModelError")
		return nil, err
	}
	inv.Status = resp.Status
	f.observe(pr, start, inv)
	if resp.Status < 200 || resp.Status > 299 {
		f.logInvocation(ctx, pr, req, w, inv, "ModelError")
	} else {
		f.logInvocation(ctx, pr, req, w, inv, "")
	}
	resp.Variant = pr.variant.Name
	resp.Served = served
	if resp.Status < 200 || resp.Status > 299 {
		return nil, &Error{Kind: ModelFailure, Endpoint: req.Endpoint, Variant: pr.variant.Name,
			ModelStatus: resp.Status, ModelBody: resp.Body, Message: string(resp.Body)}
	}
	return resp, nil
}

// logInvocation writes the server's one line per invocation: where it
// went, how it was served, its status and latencies — never its body.
func (f *Fleet) logInvocation(ctx context.Context, pr *poolRunner, req *Request, w *worker, inv Invocation, failure string) {
	if !f.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{slog.String("endpoint", pr.endpoint), slog.String("variant", pr.variant.Name),
		slog.String("served", inv.Served.String()), slog.Int("status", inv.Status),
		slog.Float64("model_latency_ms", ms(inv.ModelLatency)), slog.Float64("overhead_ms", ms(inv.Overhead)),
		slog.String("request_id", req.RequestID)}
	if w != nil {
		attrs = append(attrs, slog.String("worker", w.name))
	}
	if failure != "" {
		attrs = append(attrs, slog.String("error", failure))
	}
	f.log.LogAttrs(ctx, slog.LevelInfo, "invocation", attrs...)
}

func (f *Fleet) observe(pr *poolRunner, at time.Time, inv Invocation) {
	if pr.obs != nil {
		pr.obs.Invoked(at, inv)
	}
}

// acquire finds the request a worker: the pool decides, the runner starts
// a cold worker or waits in the queue as it says.
func (pr *poolRunner) acquire(ctx context.Context) (*worker, Served, error) {
	pr.mu.Lock()
	pr.nextReq++
	req := pr.nextReq
	gr := pr.pool.Acquire(pr.f.opts.Clock.Now(), req)
	switch gr.Outcome {
	case Granted:
		w := pr.workers[gr.Worker]
		var pl plan
		if gr.Served == WarmProvisioned {
			pl = pr.resolveLocked(Actions{ProvisionedBusy: true})
		} else {
			pr.armLocked()
		}
		pr.mu.Unlock()
		pr.exec(pl)
		return w, gr.Served, nil
	case ColdStart:
		w := pr.newWorkerLocked(gr.Worker)
		pr.mu.Unlock()
		if err := pr.start(ctx, w, true); err != nil {
			if errors.Is(err, errMemory) {
				return nil, Cold, &Error{Kind: Unavailable, Endpoint: pr.endpoint, Variant: pr.variant.Name,
					Message: fmt.Sprintf("Insufficient capacity to start a worker for endpoint %s: %v.", pr.endpoint, err)}
			}
			return nil, Cold, &Error{Kind: WorkerFailure, Endpoint: pr.endpoint, Variant: pr.variant.Name,
				Message: fmt.Sprintf("The worker for production variant %s failed to start: %v", pr.variant.Name, err)}
		}
		return w, Cold, nil
	case Queued:
		ch := make(chan *worker, 1)
		pr.waiters[req] = ch
		pr.mu.Unlock()
		select {
		case w, ok := <-ch:
			if !ok {
				return nil, Throttled, pr.notInService()
			}
			return w, WarmProvisioned, nil
		case <-ctx.Done():
			pr.mu.Lock()
			canceled := pr.pool.Cancel(req)
			if canceled {
				delete(pr.waiters, req)
			}
			pr.mu.Unlock()
			if !canceled {
				// A worker was handed over meanwhile: give it back.
				if w, ok := <-ch; ok {
					pr.release(w, false)
				}
			}
			return nil, Throttled, &Error{Kind: WorkerFailure, Endpoint: pr.endpoint, Message: "Request canceled while waiting for a worker."}
		}
	case Refused:
		pr.mu.Unlock()
		return nil, Throttled, pr.notInService()
	default:
		pr.mu.Unlock()
		return nil, Throttled, pr.throttle()
	}
}

func (pr *poolRunner) notInService() error {
	return &Error{Kind: NotInService, Endpoint: pr.endpoint, Message: "Endpoint " + pr.endpoint + " is being updated or deleted."}
}

func (pr *poolRunner) throttle() error {
	n := pr.pool.Config().MaxConcurrency
	return &Error{Kind: Throttle, Endpoint: pr.endpoint, Variant: pr.variant.Name, MaxConc: n,
		Message: fmt.Sprintf("Rate exceeded: endpoint %s has %d of %d MaxConcurrency requests in flight.", pr.endpoint, n, n)}
}

// release returns w after a request. A worker that failed mid-request is
// stopped (and, if always-warm, replaced).
func (pr *poolRunner) release(w *worker, failed bool) {
	if failed {
		w.conn.close()
		w.conn.watch.close() // it will not be used again
	}
	pr.step(func(p *Pool, now time.Time) Actions { return p.Release(now, w.id, failed) })
}

// forward sends the request to the worker's /invocations over the
// worker's own kept-alive connection. A worker serves one request at a
// time, so whoever holds the worker holds its connection: the exchange is
// written and read synchronously in the calling goroutine, with no
// transport goroutines to hand off to. An error wrapping errNotSent says
// the request's context ended before the request reached the worker,
// which is as it was.
func (f *Fleet) forward(ctx context.Context, w *worker, req *Request, limit int) (*Response, time.Duration, error) {
	if inv, ok := w.proc.(runtime.Invoker); ok {
		if err := ctx.Err(); err != nil {
			return nil, 0, fmt.Errorf("%w: %w", errNotSent, err)
		}
		return f.call(ctx, w, inv, req, limit)
	}
	resp, latency, err := w.conn.roundTrip(ctx, req, f.opts.InvokeTimeout, limit)
	if errors.Is(err, errNotSent) {
		return nil, latency, err
	}
	if err != nil {
		return nil, latency, f.workerFailed(w, err)
	}
	if resp.tooLarge {
		return nil, latency, &Error{Kind: ModelFailure, Endpoint: w.pr.endpoint, Variant: w.variant.Name, ModelStatus: 500,
			Message: fmt.Sprintf("Response payload from primary exceeds the %d-byte limit.", limit)}
	}
	return &resp.Response, latency, nil
}

// workerFailed names what happened to a request the worker did not
// answer: a timeout, the worker's exit (with its status), or a closed
// connection.
func (f *Fleet) workerFailed(w *worker, err error) error {
	name := w.variant.Name
	msg := fmt.Sprintf("The worker serving production variant %s failed while handling the request", name)
	switch {
	case errors.Is(err, errInvokeTimeout):
		msg = fmt.Sprintf("The model for production variant %s did not respond within %s", name, f.opts.InvokeTimeout)
	default:
		// A worker that crashed mid-request: its exit is the cause, not
		// the connection error it produced. Give the exit a moment to be
		// reaped.
		select {
		case <-w.proc.Done():
			err = fmt.Errorf("worker exited with %s while handling the request", runtime.ExitReason(w.proc.Err()))
			if out := strings.TrimSpace(w.proc.Output()); out != "" {
				err = fmt.Errorf("%w: %s", err, lastLines(out, 3))
			}
		case <-time.After(100 * time.Millisecond):
		}
	}
	return &Error{Kind: WorkerFailure, Endpoint: w.pr.endpoint, Variant: name, Message: msg + ": " + err.Error()}
}

// call serves the request on an in-process worker.
func (f *Fleet) call(ctx context.Context, w *worker, inv runtime.Invoker, req *Request, limit int) (*Response, time.Duration, error) {
	t0 := time.Now()
	resp, err := inv.Invoke(ctx, &req.Request)
	latency := time.Since(t0)
	if err != nil {
		return nil, latency, &Error{Kind: WorkerFailure, Endpoint: w.pr.endpoint, Variant: w.variant.Name,
			Message: fmt.Sprintf("The worker serving production variant %s failed while handling the request: %v", w.variant.Name, err)}
	}
	if len(resp.Body) > limit {
		return nil, latency, &Error{Kind: ModelFailure, Endpoint: w.pr.endpoint, Variant: w.variant.Name, ModelStatus: 500,
			Message: fmt.Sprintf("Response payload from primary exceeds the %d-byte limit.", limit)}
	}
	return &Response{Response: *resp}, latency, nil
}
