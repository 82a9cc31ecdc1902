package docker

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"

	"hearth/internal/clock"
	"hearth/internal/runtime"
)

// Standby containers.
//
// Creating and starting a container costs the engine a second or more
// (mounting the image's layers, setting up namespaces and cgroups), far
// more than an image's server usually needs to answer /ping. A container's
// configuration depends on the model (its environment, model directory and
// memory), so nothing useful can be made before a model's first worker
// starts; from then on the runtime keeps one standby container per worker
// configuration: created, started, left to answer /ping, then frozen with
// `docker pause` (the cgroup freezer: it uses no CPU, and keeps its
// memory). A cold start for that configuration unfreezes it — tens of
// milliseconds — and a new standby is made in the background. Once no
// worker of a configuration has run for Options.StandbyIdle (its endpoint
// was deleted, or has scaled to zero for that long), its standby is
// removed.

// standby is a frozen container ready to be handed to a worker.
type standby struct {
	id, addr string
	pid      int
}

// standbySet is the standby state of one worker configuration.
type standbySet struct {
	spec    runtime.Spec
	ready   []standby
	filling bool
	closed  bool
	live    int // workers of this configuration not yet exited
	expiry  clock.Timer
}

// standbyKey identifies a worker configuration: everything that goes into
// its container.
func standbyKey(spec runtime.Spec) string {
	h := sha256.New()
	env := containerEnv(spec)
	slices.Sort(env)
	fmt.Fprintf(h, "%q %q %q %q %d %d %t", spec.Image, spec.Args, env, spec.ModelDir, spec.MemoryMB, spec.CPUWeight, spec.NetworkIsolation)
	return hex.EncodeToString(h.Sum(nil))
}

// takeStandby hands spec a standby container of its configuration, if one
// is ready: it is unfrozen and followed as spec's worker.
func (r *Runtime) takeStandby(ctx context.Context, spec runtime.Spec) *proc {
	if !r.opts.Standby {
		return nil
	}
	key := standbyKey(spec)
	r.mu.Lock()
	set := r.standbys[key]
	if set == nil || len(set.ready) == 0 {
		r.mu.Unlock()
		return nil
	}
	sb := set.ready[0]
	set.ready = set.ready[1:]
	r.mu.Unlock()
	if err := r.cli.ContainerUnpause(ctx, sb.id); err != nil {
		r.log.Warn("standby container lost", "id", shortID(sb.id), "err", err)
		r.remove(sb.id)
		return nil
	}
	p := r.follow(sb.id, sb.addr, sb.pid, spec)
	go r.rename(sb.id, spec.Name)
	r.refill(p, spec)
	return p
}

// rename gives a standby container handed to a worker the worker's name,
// so that `docker ps` tells them apart.
func (r *Runtime) rename(id, worker string) {
	if worker == "" {
		return
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = r.cli.ContainerRename(ctx, id, "hearth-"+worker+"-"+hex.EncodeToString(b[:]))
}

// refill counts p as a live worker of spec's configuration and, unless a
// standby is ready or being made, makes one in the background.
func (r *Runtime) refill(p *proc, spec runtime.Spec) {
	if !r.opts.Standby {
		return
	}
	key := standbyKey(spec)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	set := r.standbys[key]
	if set == nil {
		set = &standbySet{spec: spec}
		set.spec.Output = nil
		r.standbys[key] = set
	}
	if set.expiry != nil {
		set.expiry.Stop()
		set.expiry = nil
	}
	if !p.gone {
		set.live++
		p.standbys = set
	} else if set.live == 0 {
		// The worker has already exited: nothing will arm the expiry.
		set.expiry = r.opts.Clock.AfterFunc(r.opts.StandbyIdle, func() { r.expire(key, set) })
	}
	if len(set.ready) > 0 || set.filling {
		return
	}
	set.filling = true
	r.fills.Add(1)
	go r.fill(set)
}

// fill makes one standby container for set.
func (r *Runtime) fill(set *standbySet) {
	defer r.fills.Done()
	ctx, cancel := context.WithTimeout(r.ctx, r.opts.StartupTimeout)
	defer cancel()
	sb, err := r.makeStandby(ctx, set.spec)
	r.mu.Lock()
	set.filling = false
	keep := err == nil && !set.closed && !r.closed
	if keep {
		set.ready = append(set.ready, sb)
	}
	r.mu.Unlock()
	if err != nil {
		if r.ctx.Err() == nil {
			r.log.Warn("standby container not made", "image", set.spec.Image, "err", err)
		}
		return
	}
	if !keep {
		r.remove(sb.id)
	}
}

// makeStandby creates and starts a container for spec, waits until it
// answers /ping, and freezes it.
func (r *Runtime) makeStandby(ctx context.Context, spec runtime.Spec) (standby, error) {
	id, err := r.create(ctx, spec, "standby")
	if err != nil {
		return standby{}, err
	}
	fail := func(err error) (standby, error) {
		r.remove(id)
		return standby{}, err
	}
	if err := r.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fail(err)
	}
	addr, pid, err := r.address(ctx, id, spec)
	if err != nil {
		return fail(err)
	}
	if err := r.awaitPing(ctx, id, addr); err != nil {
		return fail(err)
	}
	if err := r.cli.ContainerPause(ctx, id); err != nil {
		return fail(err)
	}
	return standby{id: id, addr: addr, pid: pid}, nil
}

// awaitPing polls the container's /ping until it answers 200, checking
// now and then that the container still runs.
func (r *Runtime) awaitPing(ctx context.Context, id, addr string) error {
	delay := time.Millisecond
	for i := 1; ; i++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/ping", nil)
		resp, err := r.http.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if i%20 == 0 {
			ins, err := r.cli.ContainerInspect(ctx, id)
			if err != nil {
				return err
			}
			if ins.State != nil && !ins.State.Running {
				return errors.New("container exited with status " + strconv.Itoa(ins.State.ExitCode) + " before answering /ping")
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer to /ping: %w", ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// exited notes that a worker of set's configuration has exited; when it
// was the last, set's standbys expire after Options.StandbyIdle.
func (r *Runtime) exited(set *standbySet) {
	key := standbyKey(set.spec)
	r.mu.Lock()
	defer r.mu.Unlock()
	set.live--
	if set.live > 0 || set.closed {
		return
	}
	set.expiry = r.opts.Clock.AfterFunc(r.opts.StandbyIdle, func() { r.expire(key, set) })
}

// expire removes set's standby containers once no worker of its
// configuration has run for Options.StandbyIdle.
func (r *Runtime) expire(key string, set *standbySet) {
	r.mu.Lock()
	if set.live > 0 {
		r.mu.Unlock()
		return
	}
	if r.standbys[key] == set {
		delete(r.standbys, key)
	}
	r.mu.Unlock()
	set.close(r)
}

// close removes set's ready standbys; one being made is removed when done.
func (s *standbySet) close(r *Runtime) {
	r.mu.Lock()
	s.closed = true
	ready := s.ready
	s.ready = nil
	if s.expiry != nil {
		s.expiry.Stop()
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, sb := range ready {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.remove(sb.id)
		}()
	}
	wg.Wait()
}

// Standbys reports how many standby containers are ready, for tests and
// metrics.
func (r *Runtime) Standbys() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.standbys {
		n += len(s.ready)
	}
	return n
}
