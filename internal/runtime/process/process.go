// Package process is the default worker runtime: each worker is a child
// process of the Hearth server, started with os/exec, stopped with SIGTERM
// then SIGKILL, and — where the host has a writable cgroup v2 hierarchy —
// placed in its own cgroup with memory.max and cpu.weight set from its spec.
package process

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"hearth/internal/runtime"
)

// Runtime starts workers as child processes. Its zero value is usable.
type Runtime struct {
	// Cgroups, if set, says where workers' cgroups are made; nil disables
	// cgroup placement. See DetectCgroups.
	Cgroups *Cgroups
	Logger  *slog.Logger
	// Standby is how many standby processes to keep waiting for each
	// standby-capable program (see standby.go); 0 disables them.
	Standby int
	// Guard, if set, is told of every process group started, so that
	// workers die with the server even if it is killed with SIGKILL.
	Guard *Guard

	mu       sync.Mutex
	spares   map[string][]*spare
	starting map[string]int
	closed   bool
}

var _ runtime.Runtime = (*Runtime)(nil)

// Start starts spec's program.
func (rt *Runtime) Start(ctx context.Context, spec runtime.Spec) (runtime.Process, error) {
	if spec.Standby && rt.Standby > 0 {
		if sp := rt.takeSpare(spec); sp != nil {
			return rt.handOff(ctx, sp, spec)
		}
	}
	addr, env, err := Contract(spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env = env
	cmd.Dir = spec.Dir
	out := NewTail(4096, spec.Output)
	cmd.Stdout = out
	cmd.Stderr = out
	// Own process group, so stopping the worker stops what it spawned, and
	// die with the server: a worker never outlives Hearth.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Path, err)
	}
	p := &proc{cmd: cmd, out: out, addr: addr, done: make(chan struct{}), guard: rt.Guard}
	rt.Guard.Watch(cmd.Process.Pid)
	if rt.Cgroups != nil {
		dirs, err := rt.Cgroups.Place(spec, cmd.Process.Pid)
		if err != nil && rt.Logger != nil {
			rt.Logger.Debug("cgroup placement failed", "worker", spec.Name, "err", err)
		}
		p.setCgroups(rt.Cgroups, dirs)
	}
	go p.wait()
	return p, nil
}

// Contract picks the worker's port and returns its address and its
// environment: spec.Env plus the container contract's binding variables.
func Contract(spec runtime.Spec) (addr string, env []string, err error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	ps := strconv.Itoa(port)
	env = append(env, spec.Env...)
	env = append(env,
		"SAGEMAKER_BIND_TO_PORT="+ps,
		"SAGEMAKER_SAFE_PORT_RANGE="+ps+"-"+ps,
	)
	if spec.ModelDir != "" {
		env = append(env, "SM_MODEL_DIR="+spec.ModelDir)
	}
	return "127.0.0.1:" + ps, env, nil
}

// Worker ports come from below the kernel's ephemeral range (Linux
// defaults to 32768–60999): a port the kernel hands out for ":0" is also
// what it hands outgoing connections as their local port, so between this
// check and the worker's own bind, any client on the host could take it.
const workerPortLow, workerPortHigh = 20000, 32768

// freePort picks a port no one is listening on for a worker to bind.
//
// The probe listener is opened and closed under syscall.ForkLock's read
// lock: a process forked meanwhile (a standby worker, say) would hold a
// copy of it until its exec, and a worker binding the port in that window
// — a standby process binds within microseconds of its hand-off — would
// find it taken. fork waits for the lock; the probe is held for
// microseconds.
func freePort() (int, error) {
	for try := 0; try < 64; try++ {
		port := workerPortLow + rand.IntN(workerPortHigh-workerPortLow)
		if probe("127.0.0.1:"+strconv.Itoa(port)) == nil {
			return port, nil
		}
	}
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("allocate port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port, nil
}

// probe listens on addr and closes at once, with no fork in between.
func probe(addr string) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// wait reaps the process, kills what it left in its process group and
// cgroups (a forked server, say), and removes the cgroups.
func (p *proc) wait() {
	err := runtime.ExitFromWait(p.cmd.Wait())
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	p.mu.Lock()
	p.err = err
	dirs, cg := p.cgroups, p.cg
	p.mu.Unlock()
	cg.Remove(dirs)
	p.guard.Forget(pid)
	close(p.done)
}

// Remove kills any process left in a worker's cgroups, removes them, and
// weighs their parents again. A cgroup can only be removed once its last
// process is gone, which takes a moment after SIGKILL. c may be nil.
func (c *Cgroups) Remove(dirs []string) {
	for _, d := range dirs {
		for try := 0; try < 50; try++ {
			killCgroup(d)
			if err := os.Remove(d); err == nil || os.IsNotExist(err) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		if c != nil {
			c.weigh(d, 0)
		}
	}
}

// killCgroup sends SIGKILL to every process in the cgroup dir.
func killCgroup(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// Sweep removes what a previous run of the server left under the worker
// cgroups: it kills every process still in them and removes the groups.
// It returns how many groups it removed.
func (c *Cgroups) Sweep() int {
	if c == nil {
		return 0
	}
	n := 0
	for _, parent := range []string{c.V2, c.MemoryV1, c.CPUV1} {
		if parent == "" {
			continue
		}
		entries, err := os.ReadDir(parent)
		if err != nil {
			continue
		}
		var dirs []string
		for _, e := range entries {
			if e.IsDir() && strings.HasPrefix(e.Name(), "worker-") {
				dirs = append(dirs, filepath.Join(parent, e.Name()))
			}
		}
		c.Remove(dirs)
		n += len(dirs)
		if len(dirs) > 0 && (parent == c.CPUV1 || parent == c.V2) {
			// A previous run's weights went with its groups.
			c.mu.Lock()
			c.writeWeightLocked(parent)
			c.mu.Unlock()
		}
	}
	return n
}

func (p *proc) setCgroups(cg *Cgroups, dirs []string) {
	p.mu.Lock()
	p.cg, p.cgroups = cg, dirs
	p.mu.Unlock()
}

// Cgroups are the cgroup directories under which workers get groups of
// their own: with cgroup v2 one directory (memory.max, cpu.weight); with
// v1 one per controller (memory.limit_in_bytes, cpu.shares).
type Cgroups struct {
	V2       string
	MemoryV1 string
	CPUV1    string

	mu      sync.Mutex
	weights map[string]int // CPU weight of each worker group, by directory
}

// Place creates the worker's cgroups, sets its limits and moves it in. It
// returns the directories made, to remove when the worker exits.
func (c *Cgroups) Place(spec runtime.Spec, pid int) ([]string, error) {
	dirs, err := c.Enter(pid)
	if err == nil {
		err = c.Limit(dirs, spec)
	}
	if err != nil {
		for _, d := range dirs {
			_ = os.Remove(d)
		}
		return nil, err
	}
	return dirs, nil
}

// Enter creates the process's cgroups (one per controller on v1) and moves
// it in, without limits yet; Limit sets them. Creating a memory cgroup can
// be the slow part of placement, which is why runtimes that start workers
// ahead of need (standby processes) enter them ahead and limit them at the
// hand-off. It returns the directories made, even on error.
func (c *Cgroups) Enter(pid int) ([]string, error) {
	name := "worker-" + strconv.Itoa(pid)
	var made []string
	for _, parent := range []string{c.V2, c.MemoryV1, c.CPUV1} {
		if parent == "" || (c.V2 != "" && parent != c.V2) {
			continue
		}
		dir := filepath.Join(parent, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return made, err
		}
		made = append(made, dir)
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return made, err
		}
	}
	return made, nil
}

// Limit sets spec's memory limit and CPU weight on the cgroups Enter made.
func (c *Cgroups) Limit(dirs []string, spec runtime.Spec) error {
	for _, dir := range dirs {
		var settings [][2]string
		switch {
		case c.V2 != "" && strings.HasPrefix(dir, c.V2):
			if spec.MemoryMB > 0 {
				settings = append(settings, [2]string{"memory.max", strconv.Itoa(spec.MemoryMB << 20)})
			}
			if spec.CPUWeight > 0 {
				settings = append(settings, [2]string{"cpu.weight", strconv.Itoa(min(max(spec.CPUWeight, 1), 10000))})
			}
		case c.MemoryV1 != "" && strings.HasPrefix(dir, c.MemoryV1):
			if spec.MemoryMB > 0 {
				settings = append(settings, [2]string{"memory.limit_in_bytes", strconv.Itoa(spec.MemoryMB << 20)})
			}
		case c.CPUV1 != "" && strings.HasPrefix(dir, c.CPUV1):
			if spec.CPUWeight > 0 {
				// cpu.shares: 1024 is the default weight of 100.
				w := min(max(spec.CPUWeight, 1), 10000)
				settings = append(settings, [2]string{"cpu.shares", strconv.Itoa(max(2, w*1024/100))})
			}
		}
		for _, kv := range settings {
			if err := os.WriteFile(filepath.Join(dir, kv[0]), []byte(kv[1]), 0o644); err != nil {
				return fmt.Errorf("%s: %w", kv[0], err)
			}
			if kv[0] == "cpu.weight" || kv[0] == "cpu.shares" {
				w, _ := strconv.Atoi(kv[1])
				c.weigh(dir, w)
			}
		}
	}
	return nil
}

// weigh records the CPU weight of the worker group dir (0: gone) and
// gives the group holding the worker groups the sum of its workers'
// weights, so that each worker competes for CPU with the host's other
// processes as a process of its own weight would, rather than all of them
// together weighing as one process.
func (c *Cgroups) weigh(dir string, w int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, had := c.weights[dir]; w == 0 && !had {
		return
	}
	if w == 0 {
		delete(c.weights, dir)
	} else {
		if c.weights == nil {
			c.weights = make(map[string]int)
		}
		c.weights[dir] = w
	}
	c.writeWeightLocked(filepath.Dir(dir))
}

// writeWeightLocked gives parent, the group holding the worker groups,
// the sum of the recorded weights (none: the default weight).
func (c *Cgroups) writeWeightLocked(parent string) {
	file, unit, least, most := "cpu.shares", 1024, 2, 262144
	if c.V2 != "" {
		file, unit, least, most = "cpu.weight", 100, 1, 10000
	}
	sum := 0
	for _, n := range c.weights {
		sum += n
	}
	if sum == 0 {
		sum = unit // no workers: the default weight
	}
	_ = os.WriteFile(filepath.Join(parent, file), []byte(strconv.Itoa(min(max(sum, least), most))), 0o644)
}

type proc struct {
	cmd     *exec.Cmd
	guard   *Guard
	addr    string
	out     *Tail
	done    chan struct{}
	cgroups []string
	cg      *Cgroups

	mu  sync.Mutex
	err error
}

func (p *proc) Addr() string          { return p.addr }
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

// Tail keeps the last max bytes written to it, and passes every write on
// to also, if set.
type Tail struct {
	mu   sync.Mutex
	max  int
	buf  []byte
	also io.Writer
}

// NewTail returns a Tail keeping max bytes and copying writes to also
// (which may be nil).
func NewTail(max int, also io.Writer) *Tail { return &Tail{max: max, also: also} }

func (t *Tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.also != nil {
		_, _ = t.also.Write(b)
	}
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(b), nil
}

func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// DetectCgroups finds where Hearth may create worker cgroups: a group
// called name (one per data directory, so that servers beside each other
// keep apart) inside the server's own cgroup, per controller on cgroup v1,
// when the hierarchy is writable. It returns nil when workers cannot be
// confined (their memory is then only accounted, not enforced).
func DetectCgroups(name string) *Cgroups {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	prepare := func(base string, required string) string {
		if required != "" {
			if _, err := os.Stat(filepath.Join(base, required)); err != nil {
				return ""
			}
		}
		dir := filepath.Join(base, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return ""
		}
		return dir
	}
	var c Cgroups
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctrls, path := strings.Split(parts[1], ","), parts[2]
		for _, ctrl := range ctrls {
			switch ctrl {
			case "memory":
				c.MemoryV1 = prepare(filepath.Join("/sys/fs/cgroup/memory", path), "memory.limit_in_bytes")
			case "cpu":
				c.CPUV1 = prepare(filepath.Join("/sys/fs/cgroup/cpu", path), "cpu.shares")
			}
		}
		if parts[0] == "0" && parts[1] == "" {
			base := filepath.Join("/sys/fs/cgroup", path)
			if ctl, err := os.ReadFile(filepath.Join(base, "cgroup.subtree_control")); err == nil && strings.Contains(string(ctl), "memory") {
				c.V2 = prepare(base, "")
			}
		}
	}
	if c.V2 == "" && c.MemoryV1 == "" && c.CPUV1 == "" {
		return nil
	}
	return &c
}

// SetAlso makes t pass every later write on to w (nil: to nothing).
func (t *Tail) SetAlso(w io.Writer) {
	t.mu.Lock()
	t.also = w
	t.mu.Unlock()
}
