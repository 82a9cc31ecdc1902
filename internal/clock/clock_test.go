package clock

import (
	"testing"
	"time"
)

func TestFakeFiresTimersInDeadlineOrder(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	var fired []string
	c.AfterFunc(2*time.Second, func() { fired = append(fired, "b") })
	c.AfterFunc(time.Second, func() { fired = append(fired, "a") })
	stopped := c.AfterFunc(1500*time.Millisecond, func() { fired = append(fired, "never") })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop should report true once, then false")
	}
	c.Advance(999 * time.Millisecond)
	if len(fired) != 0 {
		t.Fatalf("fired early: %v", fired)
	}
	c.Advance(1001 * time.Millisecond)
	if len(fired) != 2 || fired[0] != "a" || fired[1] != "b" || c.Pending() != 0 {
		t.Fatalf("fired %v, pending %d", fired, c.Pending())
	}
	if got := c.Now(); !got.Equal(time.Unix(2, 0)) {
		t.Fatalf("now %v", got)
	}
}
