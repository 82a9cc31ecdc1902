package fleet

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Pool is the state of one variant's workers, as a pure state machine in
// the manner of etcd's raft: each method is an event at an instant `now`,
// changes only the Pool, and returns the Actions the caller must carry
// out — start or stop a worker, hand a worker to a queued request. A Pool
// has no goroutines, no clock, no processes and no lock; the runner
// (runner.go) owns those and feeds their outcomes back as events.
//
// Routing is SageMaker Serverless Inference's: an idle provisioned worker
// first, then the most recently used idle on-demand worker, then — while
// fewer than MaxConcurrency requests are in flight — a cold start of an
// on-demand worker for the request, else throttling. Instance-based pools
// keep their workers always warm and queue briefly instead of throttling.
type Pool struct {
	cfg     PoolConfig
	workers []*slot // in start order
	nextID  WorkerID
	// inflight counts requests that hold a worker or are starting one.
	inflight int
	provBusy int
	queue    []RequestID
	draining bool
	// fillAt is when missing always-warm workers may be started again
	// after a failed start; fillBackoff the wait after the next failure.
	fillAt      time.Time
	fillBackoff time.Duration
	lastFailure string
}

// PoolConfig is a pool's capacity.
type PoolConfig struct {
	// Serverless pools cold-start on-demand workers up to MaxConcurrency
	// and throttle beyond; instance-based ones queue.
	Serverless bool
	// AlwaysWarm is the provisioned concurrency (serverless) or the
	// instance count (instance-based).
	AlwaysWarm     int
	MaxConcurrency int
	// KeepWarm is how long an idle on-demand worker stays up.
	KeepWarm time.Duration
	// QueueLimit bounds the requests an instance-based pool queues.
	QueueLimit int
}

// WorkerID names a worker within its pool.
type WorkerID int

// RequestID names a request within its pool (for queued requests).
type RequestID uint64

// Phase is where a worker is in its life.
type Phase int

const (
	Starting Phase = iota // being started; not yet answering /ping
	Idle                  // ready, serving nothing
	Busy                  // serving one request
	Stopping              // told to stop; gone from routing
)

func (p Phase) String() string {
	return [...]string{"starting", "idle", "busy", "stopping"}[p]
}

type slot struct {
	id          WorkerID
	provisioned bool
	phase       Phase
	// forRequest: a cold start, owned by the request that caused it.
	forRequest bool
	lastUsed   time.Time
}

// Outcome of Acquire.
type Outcome int

const (
	// Granted: Worker is the request's, Served says how it was found.
	Granted Outcome = iota
	// ColdStart: start Worker for the request (then Started or
	// StartFailed); it is the request's once started.
	ColdStart
	// Queued: the request waits for a Handoff (instance-based pools).
	Queued
	// Throttled: MaxConcurrency requests are in flight (or the queue is full).
	ThrottledOut
	// Refused: the pool is draining.
	Refused
)

// Grant is Acquire's answer.
type Grant struct {
	Outcome Outcome
	Worker  WorkerID
	Served  Served
}

// Actions are what the runner must do after an event.
type Actions struct {
	// Start these workers (always-warm refills and warm-ups; cold starts
	// come from Acquire).
	Start []WorkerID
	// Stop these workers; they are already out of routing.
	Stop []WorkerID
	// Hand these workers to queued requests.
	Hand []Handoff
	// Refuse these queued requests (the pool is draining).
	Refuse []RequestID
	// ProvisionedBusy changed (busy provisioned workers, provisioned
	// concurrency): report it to the metrics observer.
	ProvisionedBusy bool
}

// Handoff gives a worker to a queued request.
type Handoff struct {
	Request RequestID
	Worker  WorkerID
}

func (a *Actions) add(b Actions) {
	a.Start = append(a.Start, b.Start...)
	a.Stop = append(a.Stop, b.Stop...)
	a.Hand = append(a.Hand, b.Hand...)
	a.Refuse = append(a.Refuse, b.Refuse...)
	a.ProvisionedBusy = a.ProvisionedBusy || b.ProvisionedBusy
}

// Empty reports whether there is nothing to do.
func (a Actions) Empty() bool {
	return len(a.Start)+len(a.Stop)+len(a.Hand)+len(a.Refuse) == 0 && !a.ProvisionedBusy
}

// NewPool returns an empty pool with cfg; nothing starts until Fill,
// Acquire or WarmUp.
func NewPool(cfg PoolConfig) *Pool {
	return &Pool{cfg: cfg}
}

// Config returns the pool's capacity.
func (p *Pool) Config() PoolConfig { return p.cfg }

func (p *Pool) find(id WorkerID) *slot {
	for _, s := range p.workers {
		if s.id == id {
			return s
		}
	}
	return nil
}

func (p *Pool) add(provisioned, forRequest bool) *slot {
	p.nextID++
	s := &slot{id: p.nextID, provisioned: provisioned, forRequest: forRequest, phase: Starting}
	p.workers = append(p.workers, s)
	return s
}

func (p *Pool) remove(id WorkerID) {
	for i, s := range p.workers {
		if s.id == id {
			p.workers = append(p.workers[:i], p.workers[i+1:]...)
			return
		}
	}
}

// provisioned counts always-warm workers that are or will be serving.
func (p *Pool) provisioned() int {
	n := 0
	for _, s := range p.workers {
		if s.provisioned && s.phase != Stopping {
			n++
		}
	}
	return n
}

// Fill starts the always-warm workers the pool is missing, unless a
// failed start asked to wait until fillAt.
func (p *Pool) Fill(now time.Time) Actions {
	var a Actions
	if p.draining || now.Before(p.fillAt) {
		return a
	}
	for n := p.cfg.AlwaysWarm - p.provisioned(); n > 0; n-- {
		a.Start = append(a.Start, p.add(true, false).id)
	}
	return a
}

// WarmUp starts one on-demand worker, to prove the model starts before a
// new deployment of a pool without always-warm workers is in service. It
// stays warm for KeepWarm like any on-demand worker.
func (p *Pool) WarmUp(now time.Time) Actions {
	if p.draining {
		return Actions{}
	}
	return Actions{Start: []WorkerID{p.add(false, false).id}}
}

// Acquire finds a worker for one request.
func (p *Pool) Acquire(now time.Time, req RequestID) Grant {
	if p.draining {
		return Grant{Outcome: Refused}
	}
	var od *slot
	for _, s := range p.workers {
		if s.phase != Idle {
			continue
		}
		if s.provisioned {
			s.phase = Busy
			p.inflight++
			p.provBusy++
			return Grant{Outcome: Granted, Worker: s.id, Served: WarmProvisioned}
		}
		// The most recently used on-demand worker, so the others reach
		// their keep-warm deadline and stop.
		if od == nil || s.lastUsed.After(od.lastUsed) {
			od = s
		}
	}
	if od != nil {
		od.phase = Busy
		p.inflight++
		return Grant{Outcome: Granted, Worker: od.id, Served: WarmOnDemand}
	}
	if !p.cfg.Serverless {
		if len(p.queue) >= p.cfg.QueueLimit {
			return Grant{Outcome: ThrottledOut, Served: Throttled}
		}
		p.queue = append(p.queue, req)
		return Grant{Outcome: Queued}
	}
	if p.inflight >= p.cfg.MaxConcurrency {
		return Grant{Outcome: ThrottledOut, Served: Throttled}
	}
	p.inflight++
	return Grant{Outcome: ColdStart, Worker: p.add(false, true).id, Served: Cold}
}

// Cancel withdraws a queued request (its caller gave up).
func (p *Pool) Cancel(req RequestID) bool {
	for i, r := range p.queue {
		if r == req {
			p.queue = append(p.queue[:i], p.queue[i+1:]...)
			return true
		}
	}
	return false
}

// Started: worker id answered its first /ping.
func (p *Pool) Started(now time.Time, id WorkerID) Actions {
	s := p.find(id)
	if s == nil || s.phase != Starting {
		return Actions{}
	}
	if s.provisioned {
		p.fillBackoff, p.lastFailure = 0, ""
	}
	if s.forRequest {
		// The request that started it holds it (even while draining:
		// it still gets its answer, and the worker stops after).
		s.forRequest = false
		s.phase = Busy
		return Actions{}
	}
	return p.idle(now, s)
}

// StartFailed: worker id could not be started. A cold start's request
// fails; a missing always-warm worker is tried again after a backoff.
func (p *Pool) StartFailed(now time.Time, id WorkerID, reason string) Actions {
	s := p.find(id)
	if s == nil {
		return Actions{}
	}
	p.remove(id)
	if s.forRequest {
		p.inflight--
		return Actions{}
	}
	if s.provisioned {
		p.lastFailure = reason
		p.fillBackoff = min(max(2*p.fillBackoff, time.Second), 30*time.Second)
		p.fillAt = now.Add(p.fillBackoff)
	}
	return Actions{}
}

// Release: the request holding worker id is done. A worker that failed
// the request is stopped (and an always-warm one replaced).
func (p *Pool) Release(now time.Time, id WorkerID, failed bool) Actions {
	p.inflight--
	s := p.find(id)
	if s == nil {
		return Actions{}
	}
	var a Actions
	if s.provisioned && s.phase == Busy {
		p.provBusy--
		a.ProvisionedBusy = true
	}
	if failed || s.phase == Stopping {
		// A worker that failed its request, or whose process ended
		// while serving it, is done.
		s.phase = Stopping
		a.Stop = append(a.Stop, id)
		a.add(p.Fill(now))
		return a
	}
	a.add(p.idle(now, s))
	return a
}

// idle makes s available: to a queued request first, else idle (stopped
// instead when the pool drains or has more always-warm workers than it
// should).
func (p *Pool) idle(now time.Time, s *slot) Actions {
	var a Actions
	if p.draining {
		s.phase = Stopping
		a.Stop = append(a.Stop, s.id)
		return a
	}
	if len(p.queue) > 0 {
		req := p.queue[0]
		p.queue = p.queue[1:]
		s.phase = Busy
		p.inflight++
		if s.provisioned {
			p.provBusy++
			a.ProvisionedBusy = true
		}
		a.Hand = append(a.Hand, Handoff{Request: req, Worker: s.id})
		return a
	}
	s.phase = Idle
	s.lastUsed = now
	if s.provisioned && p.provisioned() > p.cfg.AlwaysWarm {
		// A resize asked for fewer always-warm workers while this one
		// was busy or starting.
		s.phase = Stopping
		a.Stop = append(a.Stop, s.id)
	}
	return a
}

// Exited: worker id's process ended. If it was serving, its request fails
// on its own (the runner sees the connection fail and calls Release).
func (p *Pool) Exited(now time.Time, id WorkerID) Actions {
	s := p.find(id)
	if s == nil {
		return Actions{}
	}
	var a Actions
	switch s.phase {
	case Busy:
		// Leave it to the request's Release(failed), which stops and
		// replaces it.
		s.phase = Stopping
		if s.provisioned {
			p.provBusy--
			a.ProvisionedBusy = true
		}
		// Release will find it Stopping: inflight is settled there.
		s.provisioned = false
		a.add(p.Fill(now))
		return a
	case Starting:
		// The starter sees the exit and calls StartFailed.
		return a
	}
	p.remove(id)
	a.add(p.Fill(now))
	return a
}

// Stopped: worker id is gone for good (after Stop, or a start that failed).
func (p *Pool) Stopped(id WorkerID) {
	if s := p.find(id); s != nil && s.phase == Stopping {
		p.remove(id)
	}
}

// Tick stops on-demand workers idle for KeepWarm and retries missing
// always-warm workers whose backoff has passed.
func (p *Pool) Tick(now time.Time) Actions {
	var a Actions
	for _, s := range p.workers {
		if s.phase == Idle && !s.provisioned && !now.Before(s.lastUsed.Add(p.cfg.KeepWarm)) {
			s.phase = Stopping
			a.Stop = append(a.Stop, s.id)
		}
	}
	a.add(p.Fill(now))
	return a
}

// NextDeadline is the earliest instant at which Tick has something to do
// (zero if none).
func (p *Pool) NextDeadline() time.Time {
	var t time.Time
	earlier := func(x time.Time) {
		if t.IsZero() || x.Before(t) {
			t = x
		}
	}
	for _, s := range p.workers {
		if s.phase == Idle && !s.provisioned {
			earlier(s.lastUsed.Add(p.cfg.KeepWarm))
		}
	}
	if !p.draining && p.provisioned() < p.cfg.AlwaysWarm && !p.fillAt.IsZero() {
		earlier(p.fillAt)
	}
	return t
}

// Resize applies a new capacity. Missing always-warm workers start;
// surplus idle ones stop, surplus starting ones stop once up, and surplus
// busy ones become on-demand workers (they finish their request, then
// keep warm as on-demand workers do).
func (p *Pool) Resize(now time.Time, cfg PoolConfig) Actions {
	p.cfg = cfg
	var a Actions
	surplus := p.provisioned() - cfg.AlwaysWarm
	// Starting ones first (a ready worker is worth keeping), then idle,
	// then busy.
	for _, phase := range []Phase{Starting, Idle, Busy} {
		for _, s := range p.workers {
			if surplus <= 0 {
				break
			}
			if !s.provisioned || s.phase != phase {
				continue
			}
			surplus--
			switch phase {
			case Idle:
				s.phase = Stopping
				a.Stop = append(a.Stop, s.id)
			case Busy:
				s.provisioned = false
				p.provBusy--
				a.ProvisionedBusy = true
			case Starting:
				// Stopped as soon as it is up (see idle): it stays
				// counted meanwhile, so nothing else starts in its place.
			}
		}
	}
	p.fillAt, p.fillBackoff = time.Time{}, 0
	a.add(p.Fill(now))
	a.ProvisionedBusy = true
	return a
}

// Drain takes the pool out of service: idle workers stop now, busy ones
// when their request ends, queued requests are refused, and nothing new
// starts.
func (p *Pool) Drain(now time.Time) Actions {
	var a Actions
	p.draining = true
	for _, s := range p.workers {
		if s.phase == Idle {
			s.phase = Stopping
			a.Stop = append(a.Stop, s.id)
		}
	}
	a.Refuse, p.queue = p.queue, nil
	return a
}

// Drained reports whether a draining pool has nothing left running or
// in flight.
func (p *Pool) Drained() bool {
	return p.draining && p.inflight == 0 && len(p.workers) == 0
}

// Evict stops worker id if it is an idle on-demand worker (to free memory).
func (p *Pool) Evict(id WorkerID) bool {
	s := p.find(id)
	if s == nil || s.phase != Idle || s.provisioned {
		return false
	}
	s.phase = Stopping
	return true
}

// IdleOnDemand lists idle on-demand workers and when each was last used,
// the candidates for eviction.
func (p *Pool) IdleOnDemand() []IdleWorker {
	var out []IdleWorker
	for _, s := range p.workers {
		if s.phase == Idle && !s.provisioned {
			out = append(out, IdleWorker{ID: s.id, LastUsed: s.lastUsed})
		}
	}
	return out
}

// IdleWorker is an eviction candidate.
type IdleWorker struct {
	ID       WorkerID
	LastUsed time.Time
}

// Worker reports a worker's phase and kind.
func (p *Pool) Worker(id WorkerID) (phase Phase, provisioned, ok bool) {
	s := p.find(id)
	if s == nil {
		return 0, false, false
	}
	return s.phase, s.provisioned, true
}

// ProvisionedBusy returns the busy provisioned workers and the
// provisioned concurrency.
func (p *Pool) ProvisionedBusy() (busy, provisioned int) {
	if !p.cfg.Serverless {
		return p.provBusy, 0
	}
	return p.provBusy, p.cfg.AlwaysWarm
}

// LastFailure is why the last always-warm start failed ("" if none did).
func (p *Pool) LastFailure() string { return p.lastFailure }

// Census counts workers by kind ("provisioned" | "on-demand") and phase.
func (p *Pool) Census() map[[2]string]int {
	out := map[[2]string]int{}
	for _, s := range p.workers {
		if s.phase == Stopping {
			continue
		}
		kind := "on-demand"
		if s.provisioned {
			kind = "provisioned"
		}
		out[[2]string{kind, s.phase.String()}]++
	}
	return out
}

// String renders the pool for scenario tests: one line per worker in
// start order, then the counters.
func (p *Pool) String() string {
	var b strings.Builder
	ws := append([]*slot(nil), p.workers...)
	sort.Slice(ws, func(i, j int) bool { return ws[i].id < ws[j].id })
	for _, s := range ws {
		kind := "on-demand"
		if s.provisioned {
			kind = "provisioned"
		}
		fmt.Fprintf(&b, "w%d %s %s", s.id, kind, s.phase)
		if s.forRequest {
			b.WriteString(" cold")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "inflight=%d provbusy=%d queued=%d", p.inflight, p.provBusy, len(p.queue))
	if p.draining {
		b.WriteString(" draining")
	}
	return b.String()
}
