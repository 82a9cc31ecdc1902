package docker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"hearth/internal/runtime"
	"hearth/internal/runtime/process"
)

// proc is a worker's container, followed from its start until it has
// exited and been removed.
type proc struct {
	r    *Runtime
	id   string
	addr string
	pid  int
	out  *process.Tail
	done chan struct{}
	// standbys is the standby state of the worker's configuration, told
	// when the worker exits (nil without standbys).
	standbys *standbySet
	gone     bool // the worker has exited; guarded by r.mu with standbys

	mu  sync.Mutex
	err error
}

var _ runtime.Process = (*proc)(nil)

func (p *proc) Addr() string          { return p.addr }
func (p *proc) Done() <-chan struct{} { return p.done }
func (p *proc) Pid() int              { return p.pid }
func (p *proc) Output() string        { return p.out.String() }

// ID is the container's id.
func (p *proc) ID() string { return p.id }

func (p *proc) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// follow streams the container's output to spec.Output and waits for it
// to exit, then removes it.
func (r *Runtime) follow(id, addr string, pid int, spec runtime.Spec) *proc {
	p := &proc{r: r, id: id, addr: addr, pid: pid, out: process.NewTail(4096, spec.Output), done: make(chan struct{})}
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		rc, err := r.cli.ContainerLogs(context.Background(), id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
		if err != nil {
			return
		}
		defer rc.Close()
		_, _ = stdcopy.StdCopy(p.out, p.out, rc)
	}()
	go p.wait(logsDone)
	return p
}

// wait records how the container ended, lets its last output arrive, and
// removes it: a worker's container never outlives the worker.
func (p *proc) wait(logsDone <-chan struct{}) {
	respc, errc := p.r.cli.ContainerWait(context.Background(), p.id, container.WaitConditionNotRunning)
	var err error
	select {
	case resp := <-respc:
		err = exitStatus(resp.StatusCode)
		if resp.Error != nil && resp.Error.Message != "" {
			err = fmt.Errorf("container %s: %s", shortID(p.id), resp.Error.Message)
		}
	case werr := <-errc:
		err = fmt.Errorf("lost track of container %s: %w", shortID(p.id), werr)
	}
	select {
	case <-logsDone:
	case <-time.After(2 * time.Second):
	}
	p.r.remove(p.id)
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
	p.r.mu.Lock()
	set := p.standbys
	p.gone = true
	p.r.mu.Unlock()
	if set != nil {
		p.r.exited(set)
	}
	close(p.done)
}

// exitStatus reads a container's exit code: 128+n is how the engine reports
// a main process killed by signal n (137 for SIGKILL, the memory limit's
// OOM kill among them).
func exitStatus(code int64) *runtime.Exit {
	if code > 128 && code < 128+32 {
		return &runtime.Exit{Code: -1, Signal: syscall.Signal(code - 128).String()}
	}
	return &runtime.Exit{Code: int(code)}
}

// Stop is `docker stop` — SIGTERM, then SIGKILL once ctx's deadline (or
// the runtime's stop timeout) has passed — followed by removal.
func (p *proc) Stop(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	grace := p.r.opts.StopTimeout
	if dl, ok := ctx.Deadline(); ok {
		grace = time.Until(dl)
	}
	secs := max(0, int(math.Floor(grace.Seconds())))
	// The engine's own timeout does the kill; the call itself gets a
	// little longer than the grace period to report back.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(secs)*time.Second+30*time.Second)
	defer cancel()
	if err := p.r.cli.ContainerStop(sctx, p.id, container.StopOptions{Timeout: &secs}); err != nil {
		// Gone already, or the engine is in trouble: removal forces it.
		p.r.remove(p.id)
	}
	select {
	case <-p.done:
		return nil
	case <-sctx.Done():
		return errors.New("container " + shortID(p.id) + " did not stop")
	}
}
