package autoscaling

import (
	"context"
	"testing"
	"time"
)

// slowTargets accepts capacity changes at once and says they are done only
// when told to, as an endpoint whose new warm workers take minutes would.
type slowTargets struct {
	*fakeTargets
	done chan struct{}
}

func (s slowTargets) Settled(ctx context.Context, endpoint string) error {
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A capacity change that takes long to come up is waited for off the
// service's lock: the API keeps answering and the loop keeps running, the
// activity reads InProgress meanwhile, then Successful.
func TestSlowCapacityChangeHoldsNoLock(t *testing.T) {
	e := newEnv(t)
	slow := slowTargets{fakeTargets: e.targets, done: make(chan struct{})}
	e.svc = New(e.st, slow, Options{Region: "us-east-1", AccountID: "000000000000", Clock: e.clock, MetricPeriod: time.Second})
	e.register(3, 5) // clamps 1 → 3: a change that does not settle yet

	answered := make(chan struct{})
	go func() {
		_ = e.svc.Tick(context.Background(), nil, e.clock.Now())
		e.activities()
		close(answered)
	}()
	select {
	case <-answered:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop and the API wait for a capacity change to settle")
	}
	acts := e.activities()
	if len(acts) != 1 || acts[0].StatusCode != "InProgress" {
		t.Fatalf("activities %+v, want one InProgress", acts)
	}
	close(slow.done)
	e.svc.Wait()
	acts = e.activities()
	if len(acts) != 1 || acts[0].StatusCode != "Successful" || acts[0].EndTime == nil {
		t.Fatalf("activities %+v, want the one Successful", acts)
	}
}
