package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
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

// Request is one InvokeEndpoint call.
type Request struct {
	Endpoint         string
	TargetVariant    string
	ContentType      string
	Accept           string
	CustomAttributes string
	InferenceID      string
	Body             []byte
}

// Response is the worker's answer.
type Response struct {
	Status           int
	ContentType      string
	CustomAttributes string
	Body             []byte
	Variant          string
	Served           Served
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
	f.mu.Lock()
	es := f.endpoints[strings.ToLower(req.Endpoint)]
	if es == nil || es.removed {
		f.mu.Unlock()
		return nil, &Error{Kind: NotFound, Endpoint: req.Endpoint,
			Message: fmt.Sprintf("Endpoint %s of account %s not found.", req.Endpoint, f.opts.AccountID)}
	}
	g := es.active
	if g == nil {
		f.mu.Unlock()
		return nil, &Error{Kind: NotInService, Endpoint: req.Endpoint,
			Message: fmt.Sprintf("Endpoint %s of account %s is not in service.", req.Endpoint, f.opts.AccountID)}
	}
	select {
	case <-g.poolsReady:
	default:
		// A restored deployment whose pools are still being made.
		f.mu.Unlock()
		select {
		case <-g.poolsReady:
		case <-ctx.Done():
			return nil, &Error{Kind: WorkerFailure, Endpoint: req.Endpoint, Message: "Request canceled while the endpoint was being restored."}
		}
		f.mu.Lock()
	}
	if g.poolsErr != nil {
		f.mu.Unlock()
		return nil, &Error{Kind: NotInService, Endpoint: req.Endpoint,
			Message: fmt.Sprintf("Endpoint %s of account %s is not in service: %v", req.Endpoint, f.opts.AccountID, g.poolsErr)}
	}
	p, err := g.pickVariant(req.TargetVariant)
	if err != nil {
		f.mu.Unlock()
		if errors.Is(err, errNoVariant) {
			return nil, &Error{Kind: NoVariant, Endpoint: req.Endpoint, Variant: req.TargetVariant,
				Message: fmt.Sprintf("Endpoint %s does not have target variant %s.", req.Endpoint, req.TargetVariant)}
		}
		return nil, &Error{Kind: NotInService, Endpoint: req.Endpoint, Message: fmt.Sprintf("Endpoint %s has no variant with traffic weight above 0.", req.Endpoint)}
	}
	limit := InstanceMaxPayload
	if p.variant.Serverless != nil {
		limit = ServerlessMaxPayload
	}
	if len(req.Body) > limit {
		f.mu.Unlock()
		return nil, &Error{Kind: TooLarge, Endpoint: req.Endpoint, Variant: p.variant.Name,
			Message: fmt.Sprintf("Request payload of %d bytes exceeds the %d-byte limit of variant %s.", len(req.Body), limit, p.variant.Name)}
	}
	w, served, err := f.acquireLocked(ctx, p) // unlocks f.mu
	if err != nil {
		if e, ok := err.(*Error); ok && e.Kind == Throttle {
			f.observe(p, start, Invocation{Served: Throttled})
		}
		return nil, err
	}
	if served == Cold && f.opts.Observer != nil {
		f.opts.Observer.ColdStart(p.endpoint, p.variant.Name, start, f.opts.Clock.Now().Sub(start))
	}
	resp, modelLatency, err := f.forward(ctx, w, req, limit)
	f.release(w, err != nil)
	inv := Invocation{Served: served, ModelLatency: modelLatency, Overhead: f.opts.Clock.Now().Sub(start) - modelLatency}
	if err != nil {
		inv.Failed = true
		f.observe(p, start, inv)
		return nil, err
	}
	inv.Status = resp.Status
	f.observe(p, start, inv)
	resp.Variant = p.variant.Name
	resp.Served = served
	if resp.Status < 200 || resp.Status > 299 {
		return nil, &Error{Kind: ModelFailure, Endpoint: req.Endpoint, Variant: p.variant.Name,
			ModelStatus: resp.Status, ModelBody: resp.Body, Message: string(resp.Body)}
	}
	return resp, nil
}

func (f *Fleet) observe(p *pool, at time.Time, inv Invocation) {
	if f.opts.Observer != nil {
		f.opts.Observer.Invoked(p.endpoint, p.variant.Name, at, inv)
	}
}

// acquireLocked finds p a worker for one request. Called with f.mu held;
// returns with it released.
func (f *Fleet) acquireLocked(ctx context.Context, p *pool) (*worker, Served, error) {
	var idleOnDemand *worker
	for _, w := range p.workers {
		if w.state != stateIdle {
			continue
		}
		if w.provisioned {
			w.state = stateBusy
			p.inflight++
			p.provBusy++
			busy, pc := p.provBusy, p.alwaysWarm()
			f.mu.Unlock()
			if f.opts.Observer != nil {
				f.opts.Observer.ProvisionedBusy(p.endpoint, p.variant.Name, f.opts.Clock.Now(), busy, pc)
			}
			return w, WarmProvisioned, nil
		}
		// Prefer the most recently used on-demand worker, so the others
		// can reach their keep-warm deadline and stop.
		if idleOnDemand == nil || w.lastUsed.After(idleOnDemand.lastUsed) {
			idleOnDemand = w
		}
	}
	if w := idleOnDemand; w != nil {
		w.state = stateBusy
		if w.expiry != nil {
			w.expiry.Stop()
			w.expiry = nil
		}
		p.inflight++
		f.mu.Unlock()
		return w, WarmOnDemand, nil
	}
	if p.variant.Serverless == nil {
		// Instance-based: wait briefly for a worker to come free.
		if len(p.waiters) >= 64*max(1, p.variant.InstanceCount) {
			f.mu.Unlock()
			return nil, Throttled, f.throttle(p)
		}
		ch := make(chan *worker, 1)
		p.waiters = append(p.waiters, ch)
		f.mu.Unlock()
		select {
		case w, ok := <-ch:
			if !ok {
				return nil, Throttled, &Error{Kind: NotInService, Endpoint: p.endpoint, Message: "Endpoint " + p.endpoint + " is being updated or deleted."}
			}
			return w, WarmProvisioned, nil
		case <-ctx.Done():
			f.mu.Lock()
			for i, c := range p.waiters {
				if c == ch {
					p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
					break
				}
			}
			f.mu.Unlock()
			// A worker may have been handed over meanwhile.
			select {
			case w, ok := <-ch:
				if ok {
					f.release(w, false)
				}
			default:
			}
			return nil, Throttled, &Error{Kind: WorkerFailure, Endpoint: p.endpoint, Message: "Request canceled while waiting for a worker."}
		}
	}
	if p.inflight >= p.maxConcurrency() {
		f.mu.Unlock()
		return nil, Throttled, f.throttle(p)
	}
	p.inflight++
	f.mu.Unlock()
	w, err := f.startWorker(ctx, p, false, true)
	if err != nil {
		f.mu.Lock()
		p.inflight--
		f.checkDrainedLocked(p.gen)
		f.mu.Unlock()
		if errors.Is(err, errMemory) {
			return nil, Cold, &Error{Kind: Unavailable, Endpoint: p.endpoint, Variant: p.variant.Name,
				Message: fmt.Sprintf("Insufficient capacity to start a worker for endpoint %s: %v.", p.endpoint, err)}
		}
		return nil, Cold, &Error{Kind: WorkerFailure, Endpoint: p.endpoint, Variant: p.variant.Name,
			Message: fmt.Sprintf("The worker for production variant %s failed to start: %v", p.variant.Name, err)}
	}
	return w, Cold, nil
}

func (f *Fleet) throttle(p *pool) error {
	return &Error{Kind: Throttle, Endpoint: p.endpoint, Variant: p.variant.Name, MaxConc: p.maxConcurrency(),
		Message: fmt.Sprintf("Rate exceeded: endpoint %s has %d of %d MaxConcurrency requests in flight.", p.endpoint, p.maxConcurrency(), p.maxConcurrency())}
}

// release returns w after a request. A worker that failed mid-request is
// stopped (and, if provisioned, replaced).
func (f *Fleet) release(w *worker, failed bool) {
	f.mu.Lock()
	p := w.pool
	p.inflight--
	wasProv := w.provisioned && w.state == stateBusy
	if wasProv {
		p.provBusy--
	}
	busy, pc := p.provBusy, p.alwaysWarm()
	if failed {
		if w.state == stateBusy {
			w.state = stateIdle // provBusy already adjusted above
		}
		f.stopLocked(w)
		w.conn.close()
		replace := w.provisioned && !p.gen.draining
		f.mu.Unlock()
		if replace {
			f.replenish(p)
		}
	} else {
		f.idleLocked(w)
		f.checkDrainedLocked(p.gen)
		if w.state == stateDead {
			w.conn.close()
		}
		f.mu.Unlock()
	}
	if wasProv && f.opts.Observer != nil {
		f.opts.Observer.ProvisionedBusy(p.endpoint, p.variant.Name, f.opts.Clock.Now(), busy, pc)
	}
}

// forward sends the request to the worker's /invocations over the
// worker's own kept-alive connection. A worker serves one request at a
// time, so whoever holds the worker holds its connection: the exchange is
// written and read synchronously in the calling goroutine, with no
// transport goroutines to hand off to.
func (f *Fleet) forward(ctx context.Context, w *worker, req *Request, limit int) (*Response, time.Duration, error) {
	t0 := time.Now()
	resp, err := w.conn.roundTrip(ctx, req, f.opts.InvokeTimeout, limit)
	latency := time.Since(t0)
	if err != nil {
		return nil, latency, f.workerFailed(w, err, ctx)
	}
	if resp.tooLarge {
		return nil, latency, &Error{Kind: ModelFailure, Endpoint: w.pool.endpoint, Variant: w.pool.variant.Name, ModelStatus: 500,
			Message: fmt.Sprintf("Response payload from primary exceeds the %d-byte limit.", limit)}
	}
	return &resp.Response, latency, nil
}

func (f *Fleet) workerFailed(w *worker, err error, ctx context.Context) error {
	msg := fmt.Sprintf("The worker serving production variant %s failed while handling the request", w.pool.variant.Name)
	if errors.Is(err, errInvokeTimeout) {
		msg = fmt.Sprintf("The model for production variant %s did not respond within %s", w.pool.variant.Name, f.opts.InvokeTimeout)
	}
	return &Error{Kind: WorkerFailure, Endpoint: w.pool.endpoint, Variant: w.pool.variant.Name, Message: msg + ": " + err.Error()}
}
