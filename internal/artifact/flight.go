package artifact

import (
	"context"
	"sync"
)

// group coalesces concurrent calls with the same key: the first caller starts
// the work, later callers wait for its result. The work runs under a context
// of its own that is cancelled only when every caller waiting for it has
// given up, so one impatient caller does not fail the others.
type group[T any] struct {
	mu    sync.Mutex
	calls map[string]*call[T]
}

type call[T any] struct {
	done    chan struct{}
	val     T
	err     error
	waiters int
	cancel  context.CancelFunc
}

// do runs fn once for all concurrent callers with the same key and returns
// its result, or ctx's error if ctx ends first. started reports whether this
// call started fn (which then runs to its end even if ctx ends) rather than
// joining a call already under way.
func (g *group[T]) do(ctx context.Context, key string, fn func(context.Context) (T, error)) (v T, started bool, err error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = make(map[string]*call[T])
	}
	c, ok := g.calls[key]
	if ok {
		c.waiters++
	} else {
		work, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &call[T]{done: make(chan struct{}), waiters: 1, cancel: cancel}
		g.calls[key] = c
		go func() {
			defer cancel()
			c.val, c.err = fn(work)
			g.mu.Lock()
			if g.calls[key] == c {
				delete(g.calls, key)
			}
			g.mu.Unlock()
			close(c.done)
		}()
	}
	g.mu.Unlock()

	started = !ok
	select {
	case <-c.done:
		return c.val, started, c.err
	case <-ctx.Done():
		g.mu.Lock()
		c.waiters--
		if c.waiters == 0 {
			// Nobody wants the result any more: stop the work, and let the
			// next caller start afresh rather than join a cancelled call.
			c.cancel()
			if g.calls[key] == c {
				delete(g.calls, key)
			}
		}
		g.mu.Unlock()
		var zero T
		return zero, started, context.Cause(ctx)
	}
}
