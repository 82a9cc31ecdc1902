// Package process is the default worker runtime: each worker is a child
// process of the Hearth server, started with os/exec, stopped with SIGTERM
// then SIGKILL, and — where the host has a writable cgroup v2 hierarchy —
// placed in its own cgroup with memory.max and cpu.weight set from its spec.
package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"hearth/internal/runtime"
)

// Runtime starts workers as child processes.
type Runtime struct {
	// CgroupRoot, if set, is a cgroup v2 directory Hearth may create child
	// groups in; empty disables cgroup placement.
	CgroupRoot string
	Logger     *slog.Logger
}

var _ runtime.Runtime = (*Runtime)(nil)

// Start starts spec's program.
func (rt *Runtime) Start(ctx context.Context, spec runtime.Spec) (runtime.Process, error) {
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env = spec.Env
	cmd.Dir = spec.Dir
	out := &tail{max: 4096}
	cmd.Stdout = out
	cmd.Stderr = out
	// Own process group, so stopping the worker stops what it spawned, and
	// die with the server: a worker never outlives Hearth.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Path, err)
	}
	p := &proc{cmd: cmd, out: out, done: make(chan struct{})}
	if rt.CgroupRoot != "" {
		if dir, err := rt.place(spec, cmd.Process.Pid); err != nil {
			if rt.Logger != nil {
				rt.Logger.Debug("cgroup placement failed", "worker", spec.Name, "err", err)
			}
		} else {
			p.cgroup = dir
		}
	}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		if p.cgroup != "" {
			_ = os.Remove(p.cgroup)
		}
		close(p.done)
	}()
	return p, nil
}

// place creates a cgroup for the worker and moves it there.
func (rt *Runtime) place(spec runtime.Spec, pid int) (string, error) {
	dir := filepath.Join(rt.CgroupRoot, "worker-"+strconv.Itoa(pid))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	write := func(file, val string) error {
		return os.WriteFile(filepath.Join(dir, file), []byte(val), 0o644)
	}
	if spec.MemoryMB > 0 {
		if err := write("memory.max", strconv.Itoa(spec.MemoryMB<<20)); err != nil {
			_ = os.Remove(dir)
			return "", err
		}
	}
	if spec.CPUWeight > 0 {
		_ = write("cpu.weight", strconv.Itoa(spec.CPUWeight))
	}
	if err := write("cgroup.procs", strconv.Itoa(pid)); err != nil {
		_ = os.Remove(dir)
		return "", err
	}
	return dir, nil
}

type proc struct {
	cmd    *exec.Cmd
	out    *tail
	done   chan struct{}
	cgroup string

	mu  sync.Mutex
	err error
}

func (p *proc) Done() <-chan struct{} { return p.done }
func (p *proc) Pid() int              { return p.cmd.Process.Pid }
func (p *proc) Output() string        { return p.out.String() }

func (p *proc) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *proc) Stop(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.done
		return nil
	}
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// ExitReason renders how a process ended, for failure reasons.
func ExitReason(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by signal " + ws.Signal().String()
		}
		return "exit status " + strconv.Itoa(ee.ExitCode())
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// DetectCgroupRoot returns a cgroup v2 directory under which Hearth may
// create worker groups — the server's own cgroup when it is writable and
// delegates the memory and cpu controllers — or "" when there is none.
func DetectCgroupRoot() string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	var rel string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			rel = p
		}
	}
	if rel == "" {
		return ""
	}
	base := filepath.Join("/sys/fs/cgroup", rel)
	ctrl, err := os.ReadFile(filepath.Join(base, "cgroup.subtree_control"))
	if err != nil || !strings.Contains(string(ctrl), "memory") {
		return ""
	}
	dir := filepath.Join(base, "hearth-workers")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ""
	}
	return dir
}
