// Package runtime defines how Hearth starts and stops workers: a Runtime
// turns a Spec (what to run, its environment, model and limits) into a
// running Process that serves the SageMaker container contract (GET /ping,
// POST /invocations) at an address the runtime chooses. The process runtime
// (runtime/process) runs local programs; a container runtime runs images.
package runtime

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"strconv"
	"syscall"
)

// Spec describes one worker to start.
type Spec struct {
	// Name identifies the worker in logs, cgroups and container names.
	Name string
	// Path is the program to run, with Args after it (process runtime).
	Path string
	Args []string
	// Image is the container image to run (container runtimes); the
	// container is started with Args (the contract's "serve").
	Image string
	// Framework names a built-in framework server (e.g. "sklearn",
	// "pytorch") that runs the model in ModelDir (framework runtimes).
	Framework string
	// Env is the worker's environment beyond what the runtime adds for the
	// contract (the port to listen on and where the model is), KEY=value.
	Env []string
	// ModelDir is the host directory holding the unpacked model artifact.
	// The runtime shows it to the worker: as SM_MODEL_DIR for a process,
	// mounted read-only at /opt/ml/model in a container.
	ModelDir string
	// Dir is the worker's scratch working directory on the host.
	Dir string
	// MemoryMB is the memory the worker may use; CPUWeight its share of
	// CPU relative to other workers (cgroup v2 cpu.weight, 1–10000).
	MemoryMB  int
	CPUWeight int
	// NetworkIsolation cuts the worker off from any network but the one
	// Hearth reaches it on (SageMaker's EnableNetworkIsolation).
	NetworkIsolation bool
	// Standby says the program speaks the standby hand-off (see package
	// process): a runtime may then give the worker a process it started
	// ahead of time and tell it its environment, instead of starting one.
	Standby bool
	// Output, if set, receives everything the worker writes to stdout and
	// stderr, in order, as it is written. Writes must not block for long.
	Output io.Writer
}

// Process is a started worker.
type Process interface {
	// Addr is the host:port on which the worker serves the container
	// contract.
	Addr() string
	// Done is closed when the process has exited; Err then says how (an
	// *Exit, or another error when the runtime lost track of it).
	Done() <-chan struct{}
	Err() error
	// Stop asks the process to exit (SIGTERM), then kills it once ctx is
	// done. It returns when the process has exited.
	Stop(ctx context.Context) error
	// Pid is the OS process id of the worker's main process (0 if the
	// runtime cannot tell).
	Pid() int
	// Output returns the tail of what the process wrote to stdout/stderr,
	// for failure reasons.
	Output() string
}

// Runtime starts processes.
type Runtime interface {
	Start(ctx context.Context, spec Spec) (Process, error)
}

// Exit is how a worker ended: its exit status, or the signal that killed it.
type Exit struct {
	Code   int    // exit status; -1 when killed by a signal
	Signal string // the signal's name when killed by one
}

func (e *Exit) Error() string {
	if e.Signal != "" {
		return "killed by signal " + e.Signal
	}
	return "exit status " + strconv.Itoa(e.Code)
}

// ExitReason renders how a process ended, for failure reasons: "exit
// status 3", "killed by signal killed", or the runtime's error.
func ExitReason(err error) string {
	if err == nil {
		return "exit status 0"
	}
	var e *Exit
	if errors.As(err, &e) {
		return e.Error()
	}
	return err.Error()
}

// Router sends each Spec to the runtime for its kind: a Framework spec to
// Frameworks, an Image spec to Containers, anything else to Processes. A
// nil runtime refuses its specs.
type Router struct {
	Processes, Containers, Frameworks Runtime
}

// ErrNoRuntime is returned for a spec whose runtime this server lacks.
var ErrNoRuntime = errors.New("no runtime for this worker on this server")

// pick is spec's runtime (nil if this server has none).
func (r Router) pick(spec Spec) Runtime {
	switch {
	case spec.Framework != "":
		return r.Frameworks
	case spec.Image != "":
		return r.Containers
	}
	return r.Processes
}

// Start starts spec on its runtime.
func (r Router) Start(ctx context.Context, spec Spec) (Process, error) {
	rt := r.pick(spec)
	if rt == nil {
		return nil, ErrNoRuntime
	}
	return rt.Start(ctx, spec)
}

// Prewarm passes spec on to its runtime, if that runtime can get ready to
// start it quickly (a standby process, a fork server, a pulled image).
func (r Router) Prewarm(spec Spec) {
	if pw, ok := r.pick(spec).(interface{ Prewarm(Spec) }); ok {
		pw.Prewarm(spec)
	}
}

// ExitFromWait turns what exec.Cmd.Wait returned into an *Exit (other
// errors pass through).
func ExitFromWait(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &Exit{Code: -1, Signal: ws.Signal().String()}
		}
		return &Exit{Code: ee.ExitCode()}
	}
	return err
}

// Request is one POST /invocations, as given to an Invoker.
type Request struct {
	ContentType      string // empty: the request had no Content-Type
	Accept           string
	CustomAttributes string
	InferenceID      string
	Body             []byte
}

// Response is an Invoker's answer.
type Response struct {
	Status           int
	ContentType      string
	CustomAttributes string
	Body             []byte
}

// Invoker is a Process that serves its model inside Hearth's own process
// (runtime/inprocess): it is ready once started, so nobody polls /ping,
// and requests reach it by a call to Invoke instead of POST /invocations
// at Addr. Invoke answers one request at a time per process, as a worker
// does; an error means the request was not answered (a worker failure).
type Invoker interface {
	Invoke(ctx context.Context, req *Request) (*Response, error)
}

// MemoryEstimator is a Process whose memory cannot be read from /proc
// (its Pid is 0): it estimates the resident memory it holds itself.
type MemoryEstimator interface {
	MemoryEstimateMB() float64
}
