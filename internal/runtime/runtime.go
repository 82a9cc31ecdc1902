// Package runtime defines how Hearth starts and stops workers: a Runtime
// turns a Spec (program, arguments, environment, memory) into a running
// Process. The process runtime (runtime/process) is the default; a
// container or Kubernetes runtime would implement the same interface.
package runtime

import (
	"context"
)

// Spec describes one worker to start.
type Spec struct {
	// Name identifies the worker in logs and cgroups.
	Name string
	// Path is the program; Args follow it.
	Path string
	Args []string
	// Env is the complete environment, KEY=value.
	Env []string
	// Dir is the working directory.
	Dir string
	// MemoryMB is the memory the worker may use; CPUWeight its share of
	// CPU relative to other workers (cgroup v2 cpu.weight, 1–10000).
	MemoryMB  int
	CPUWeight int
	// Standby says the program speaks the standby hand-off (see package
	// process): a runtime may then give the worker a process it started
	// ahead of time and tell it its environment, instead of starting one.
	Standby bool
}

// Process is a started worker.
type Process interface {
	// Done is closed when the process has exited; Err then says how.
	Done() <-chan struct{}
	Err() error
	// Stop asks the process to exit (SIGTERM), then kills it once ctx is
	// done. It returns when the process has exited.
	Stop(ctx context.Context) error
	// Pid is the OS process id.
	Pid() int
	// Output returns the tail of what the process wrote to stdout/stderr,
	// for failure reasons.
	Output() string
}

// Runtime starts processes.
type Runtime interface {
	Start(ctx context.Context, spec Spec) (Process, error)
}
