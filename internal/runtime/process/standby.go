package process

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"hearth/internal/runtime"
)

// Standby processes make cold starts of Hearth's own workers fast. A Go
// program's start-up — exec, runtime and package initialisation — is most
// of a cold start; a standby process has done all of that already and
// waits, unassigned, for its hand-off: one JSON line on the file descriptor
// named by StandbyFDEnv carrying the worker's environment and working
// directory. It then applies them and runs as if it had been started with
// them. A program announces that it speaks this by the spec's Standby flag.
const StandbyFDEnv = "HEARTH_STANDBY_FD"

// Handoff is what a standby process receives.
type Handoff struct {
	Env []string `json:"Env"`
	Dir string   `json:"Dir"`
}

// ReadHandoff is called by a standby-capable program at start: when
// getenv names a hand-off descriptor, it blocks until the hand-off arrives
// and returns it; otherwise it returns nil.
func ReadHandoff(getenv func(string) string) (*Handoff, error) {
	fd := getenv(StandbyFDEnv)
	if fd == "" {
		return nil, nil
	}
	var n int
	if _, err := fmt.Sscan(fd, &n); err != nil || n < 3 {
		return nil, fmt.Errorf("%s=%q: not a file descriptor", StandbyFDEnv, fd)
	}
	f := os.NewFile(uintptr(n), "handoff")
	defer f.Close()
	var h Handoff
	if err := json.NewDecoder(f).Decode(&h); err != nil {
		return nil, fmt.Errorf("read hand-off: %w", err)
	}
	return &h, nil
}

// spare is a standby process waiting for its hand-off.
type spare struct {
	proc    *proc
	handoff *os.File // write end of the hand-off pipe
}

func standbyKey(s runtime.Spec) string { return s.Path + "\x00" + strings.Join(s.Args, "\x00") }

// takeSpare returns a waiting standby process for spec, if there is one,
// and starts its replacement.
func (rt *Runtime) takeSpare(spec runtime.Spec) *spare {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.spares == nil {
		rt.spares, rt.starting = map[string][]*spare{}, map[string]int{}
	}
	key := standbyKey(spec)
	for len(rt.spares[key]) > 0 {
		sp := rt.spares[key][0]
		rt.spares[key] = rt.spares[key][1:]
		select {
		case <-sp.proc.done: // died while waiting
			sp.handoff.Close()
			continue
		default:
		}
		go rt.fillStandby(spec)
		return sp
	}
	go rt.fillStandby(spec)
	return nil
}

// fillStandby starts standby processes for spec's program until
// rt.Standby wait.
func (rt *Runtime) fillStandby(spec runtime.Spec) {
	key := standbyKey(spec)
	rt.mu.Lock()
	if rt.spares == nil {
		rt.spares, rt.starting = map[string][]*spare{}, map[string]int{}
	}
	if rt.closed || len(rt.spares[key])+rt.starting[key] >= rt.Standby {
		rt.mu.Unlock()
		return
	}
	rt.starting[key]++
	rt.mu.Unlock()
	sp, err := rt.startSpare(spec)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.starting[key]--
	if err != nil {
		if rt.Logger != nil {
			rt.Logger.Warn("standby worker did not start", "program", spec.Path, "err", err)
		}
		return
	}
	if rt.closed {
		sp.handoff.Close()
		_ = syscall.Kill(-sp.proc.Pid(), syscall.SIGKILL)
		return
	}
	rt.spares[key] = append(rt.spares[key], sp)
}

func (rt *Runtime) startSpare(spec runtime.Spec) (*spare, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), StandbyFDEnv + "=3"}
	cmd.ExtraFiles = []*os.File{r}
	out := NewTail(4096, nil)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("start %s: %w", spec.Path, err)
	}
	r.Close()
	p := &proc{cmd: cmd, out: out, done: make(chan struct{}), guard: rt.Guard}
	rt.Guard.Watch(cmd.Process.Pid)
	if rt.Cgroups != nil {
		// Make its cgroups now, off the cold-start path; limits come with
		// the hand-off.
		dirs, err := rt.Cgroups.Enter(cmd.Process.Pid)
		if err != nil && rt.Logger != nil {
			rt.Logger.Debug("cgroup placement failed", "program", spec.Path, "err", err)
		}
		p.setCgroups(rt.Cgroups, dirs)
	}
	go p.wait()
	return &spare{proc: p, handoff: w}, nil
}

// handOff gives spare the worker's spec: its cgroup, environment and
// working directory.
func (rt *Runtime) handOff(ctx context.Context, sp *spare, spec runtime.Spec) (runtime.Process, error) {
	defer sp.handoff.Close()
	addr, env, err := Contract(spec)
	if err != nil {
		_ = sp.proc.Stop(ctx)
		return nil, err
	}
	sp.proc.addr = addr
	sp.proc.out.SetAlso(spec.Output)
	if rt.Cgroups != nil {
		sp.proc.mu.Lock()
		dirs := sp.proc.cgroups
		sp.proc.mu.Unlock()
		if err := rt.Cgroups.Limit(dirs, spec); err != nil && rt.Logger != nil {
			rt.Logger.Debug("cgroup limits failed", "worker", spec.Name, "err", err)
		}
	}
	msg, err := json.Marshal(Handoff{Env: env, Dir: spec.Dir})
	if err != nil {
		return nil, err
	}
	if _, err := sp.handoff.Write(append(msg, '\n')); err != nil {
		_ = sp.proc.Stop(ctx)
		return nil, fmt.Errorf("hand off to standby worker: %w", err)
	}
	return sp.proc, nil
}

// Close stops the standby processes. Workers already handed off are not
// affected.
func (rt *Runtime) Close() {
	rt.mu.Lock()
	rt.closed = true
	spares := rt.spares
	rt.spares = map[string][]*spare{}
	rt.mu.Unlock()
	for _, list := range spares {
		for _, sp := range list {
			sp.handoff.Close()
			_ = syscall.Kill(-sp.proc.Pid(), syscall.SIGKILL)
		}
	}
}

// Prewarm starts standby processes for spec's program, if it speaks the
// hand-off, so that even the first cold start finds one.
func (rt *Runtime) Prewarm(spec runtime.Spec) {
	if !spec.Standby || rt.Standby <= 0 {
		return
	}
	go rt.fillStandby(spec)
}
