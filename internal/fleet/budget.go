package fleet

import (
	"fmt"
	"sync"
)

// budget is the host memory budget shared by every worker. Always-warm
// capacity is reserved when a deployment is admitted, so provisioned
// workers and instances never wait for memory; on-demand workers share
// what the reservations leave, evicting idle ones least-recently-used.
type budget struct {
	totalMB int // 0: unlimited

	mu sync.Mutex
	// reserved is each endpoint's always-warm capacity (by lower-cased
	// name), set when a deployment is admitted — before it is stored, so
	// two endpoints admitted one after the other both count — and when
	// one is restored, resized or removed.
	reserved map[string]int
	onDemand int // MB held by running on-demand workers
	warm     int // MB held by running always-warm workers
}

func newBudget(totalMB int) *budget {
	return &budget{totalMB: totalMB, reserved: map[string]int{}}
}

// admit reserves needMB of always-warm capacity for endpoint if it fits
// beside every other endpoint's reservation (the endpoint's own previous
// reservation is replaced).
func (b *budget) admit(endpoint string, needMB int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	others := 0
	for ep, mb := range b.reserved {
		if ep != endpoint {
			others += mb
		}
	}
	if b.totalMB > 0 && others+needMB > b.totalMB {
		return fmt.Errorf("endpoint %s needs %d MB of always-warm workers (provisioned concurrency × MemorySizeInMB), but only %d MB of the host's %d MB memory budget are free (other endpoints reserve %d MB; see --memory-budget)",
			endpoint, needMB, b.totalMB-others, b.totalMB, others)
	}
	b.setLocked(endpoint, needMB)
	return nil
}

// reserve sets an endpoint's reservation without checking it (a restored
// endpoint was admitted before; 0 removes it).
func (b *budget) reserve(endpoint string, mb int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.setLocked(endpoint, mb)
}

func (b *budget) setLocked(endpoint string, mb int) {
	if mb <= 0 {
		delete(b.reserved, endpoint)
		return
	}
	b.reserved[endpoint] = mb
}

// reservedMB is the memory reserved for always-warm workers.
func (b *budget) reservedMB() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.totalMB - b.freeLocked()
}

// takeWarm accounts an always-warm worker; it draws on its pool's
// reservation and never fails.
func (b *budget) takeWarm(mb int) {
	b.mu.Lock()
	b.warm += mb
	b.mu.Unlock()
}

// takeOnDemand claims mb for an on-demand worker if the unreserved budget
// has room.
func (b *budget) takeOnDemand(mb int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.totalMB > 0 && b.onDemand+mb > b.freeLocked() {
		return false
	}
	b.onDemand += mb
	return true
}

func (b *budget) freeLocked() int {
	r := 0
	for _, mb := range b.reserved {
		r += mb
	}
	return b.totalMB - r
}

// give returns a worker's memory.
func (b *budget) give(mb int, warm bool) {
	b.mu.Lock()
	if warm {
		b.warm -= mb
	} else {
		b.onDemand -= mb
	}
	b.mu.Unlock()
}

// usedMB is the memory held by running workers.
func (b *budget) usedMB() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.warm + b.onDemand
}

// shortage explains a refused on-demand start.
func (b *budget) shortage(mb int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return fmt.Errorf("%w: %d MB needed; the %d MB budget has %d MB reserved for always-warm workers and %d MB in use by busy on-demand workers (see --memory-budget)",
		errMemory, mb, b.totalMB, b.totalMB-b.freeLocked(), b.onDemand)
}
