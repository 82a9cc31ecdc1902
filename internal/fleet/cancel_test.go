package fleet

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"hearth/internal/runtime"
)

// countingCtx is a context, ended by cancel, that counts the functions
// registered to run when it ends (context.AfterFunc asks a context with an
// AfterFunc method to run them) and how many were unregistered.
type countingCtx struct {
	context.Context // Background: no deadline, no values
	done            chan struct{}

	mu                  sync.Mutex
	err                 error
	funcs               map[int]func()
	registered, stopped int
}

func newCountingCtx() *countingCtx {
	return &countingCtx{Context: context.Background(), done: make(chan struct{}), funcs: map[int]func(){}}
}

func (c *countingCtx) Done() <-chan struct{} { return c.done }

func (c *countingCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *countingCtx) cancel() {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = context.Canceled
	close(c.done)
	funcs := c.funcs
	c.funcs = nil
	c.mu.Unlock()
	for _, f := range funcs {
		go f()
	}
}

func (c *countingCtx) AfterFunc(f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.registered++
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	id := c.registered
	c.funcs[id] = f
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.stopped++
		_, ok := c.funcs[id]
		delete(c.funcs, id)
		return ok
	}
}

func (c *countingCtx) counts() (registered, stopped int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.registered, c.stopped
}

func isWorkerFailure(err error, says string) bool {
	var fe *Error
	return errors.As(err, &fe) && fe.Kind == WorkerFailure && strings.Contains(fe.Message, says)
}

func invokeCtx(h *harness, ctx context.Context, body string) (*Response, error) {
	return h.f.Invoke(ctx, &Request{Endpoint: "ep", Request: runtime.Request{Body: []byte(body), ContentType: "text/plain"}})
}

// Requests that share a context, as all those of the invocation route's
// server do, register with it once per worker, not once per request; that
// context ending still ends a request in progress at once; a request's own
// context ending after it was answered does not touch the next request on
// the same connection; and a worker that is gone unregisters.
func TestInvocationEndsWithItsContext(t *testing.T) {
	h := newHarness(t, 0)
	h.mustDeploy(deployment("ep", 1, echoVariant("AllTraffic", serverless(1024, 1, 1), nil)))

	shared := newCountingCtx()
	sharedCtx, cancelShared := shared, shared.cancel
	defer cancelShared()
	// The worker's connection is made (dialling registers with the
	// context too) before the shared context is used.
	first, err := invokeCtx(h, context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		resp, err := invokeCtx(h, sharedCtx, "x")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if pidOf(resp.Body) != pidOf(first.Body) {
			t.Fatalf("request %d served by pid %s, want the one provisioned worker %s", i, pidOf(resp.Body), pidOf(first.Body))
		}
	}
	if reg, _ := shared.counts(); reg != 1 {
		t.Fatalf("20 requests with one context registered with it %d times, want once", reg)
	}

	// A request with its own context, which ends once it is answered (as
	// net/http's do): the next request on the worker's connection is
	// unaffected.
	own, cancelOwn := context.WithCancel(context.Background())
	if _, err := invokeCtx(h, own, "x"); err != nil {
		t.Fatal(err)
	}
	cancelOwn()
	if _, err := invokeCtx(h, sharedCtx, "x"); err != nil {
		t.Fatalf("after an earlier request's context ended: %v", err)
	}

	// The shared context ending mid-request ends that request, long before
	// the model would answer.
	done := make(chan error, 1)
	go func() {
		_, err := invokeCtx(h, sharedCtx, "sleep 8s")
		done <- err
	}()
	eventually(t, "busy", func() bool { return h.count("ep", "", "busy") == 1 })
	cancelShared()
	// (Were it not ended, the model would answer it, after 8 s.)
	if err := <-done; !isWorkerFailure(err, "context canceled") {
		t.Fatalf("request whose context ended: %v, want a worker failure saying the context was canceled", err)
	}
	// The failed worker is replaced. Once its replacement is ready, the
	// next request with a live context is served by it (sent sooner, it
	// would cold-start an on-demand worker beside it, and the requests
	// below would no longer share one worker).
	eventually(t, "replacement ready", func() bool { return h.count("ep", "provisioned", "idle") == 1 })
	if _, err := invokeCtx(h, context.Background(), "x"); err != nil {
		t.Fatalf("after a canceled request: %v", err)
	}

	// A request whose context has already ended is not sent.
	before, err := invokeCtx(h, context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := invokeCtx(h, sharedCtx, "x"); !isWorkerFailure(err, "canceled before it was sent") {
		t.Fatalf("request with an ended context: %v, want a worker failure saying it was canceled before it was sent", err)
	}
	// Nor does it cost the worker.
	after, err := invokeCtx(h, context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if pidOf(after.Body) != pidOf(before.Body) {
		t.Fatalf("after a request that was never sent, served by pid %s, want the same worker %s", pidOf(after.Body), pidOf(before.Body))
	}

	// The workers gone, every registration with the shared context is undone.
	later := newCountingCtx()
	if _, err := invokeCtx(h, context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := invokeCtx(h, later, "x"); err != nil {
		t.Fatal(err)
	}
	h.f.Remove("ep", 1)
	h.wait("ep")
	eventually(t, "workers gone", func() bool { return h.count("ep", "", "") == 0 })
	eventually(t, "registrations undone", func() bool { reg, stopped := later.counts(); return reg == 1 && stopped == 1 })
}
