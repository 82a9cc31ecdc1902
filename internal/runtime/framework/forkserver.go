package framework

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"hearth/internal/runtime"
	"hearth/internal/runtime/process"
)

// server is one fork server: a Python process that has imported a
// framework and forks workers on request. It speaks JSON messages over a
// SOCK_SEQPACKET socket (its fd 3), one message per packet; see
// python/hearth_forkserver.py for the protocol.
type server struct {
	framework string
	cgroups   *process.Cgroups // where workers get cgroups, if anywhere
	log       *slog.Logger
	out       *process.Tail // the fork server's own output

	ready    chan struct{} // closed once the framework is imported, or start failed
	startErr error         // set before ready is closed
	exited   chan struct{} // closed when the process is gone and its workers finished
	cmd      *exec.Cmd
	conn     *net.UnixConn
	sendMu   sync.Mutex

	mu      sync.Mutex
	nextID  int
	pending map[int]chan message
	workers map[int]*worker
	gone    bool
	closing bool
	spare   *worker // forked ahead, waiting for its assignment
	filling bool    // a spare is being forked
}

// message is any message of the protocol, in either direction.
type message struct {
	Op     string `json:"op"`
	ID     int    `json:"id,omitempty"`
	Signal int    `json:"signal,omitempty"`
	Pid    int    `json:"pid,omitempty"`
	Code   int    `json:"code,omitempty"`
	Spare  bool   `json:"spare,omitempty"`
	Error  string `json:"error,omitempty"`
}

// startServer starts a fork server for framework in the background; its
// ready channel says when it can fork.
func startServer(python, dir, framework string, cgroups *process.Cgroups, log *slog.Logger) *server {
	s := &server{
		framework: framework,
		cgroups:   cgroups,
		log:       log,
		out:       process.NewTail(8192, nil),
		ready:     make(chan struct{}),
		exited:    make(chan struct{}),
		pending:   map[int]chan message{},
		workers:   map[int]*worker{},
	}
	if err := s.start(python, dir); err != nil {
		s.startErr = err
		close(s.ready)
		s.gone = true
		close(s.exited)
	}
	return s
}

func (s *server) start(python, dir string) error {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fork server socket: %w", err)
	}
	ours := os.NewFile(uintptr(fds[0]), "forkserver")
	theirs := os.NewFile(uintptr(fds[1]), "forkserver-child")
	defer theirs.Close()
	fc, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return fmt.Errorf("fork server socket: %w", err)
	}
	s.conn = fc.(*net.UnixConn)
	cmd := exec.Command(python, "-u", filepath.Join(dir, "hearth_forkserver.py"), s.framework)
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Stdout = s.out
	cmd.Stderr = s.out
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	// Own process group, and die with Hearth; workers die with the server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.conn.Close()
		return fmt.Errorf("start %s fork server with %s: %w", s.framework, python, err)
	}
	s.cmd = cmd
	go s.read()
	return nil
}

// read handles the fork server's messages until its socket closes, then
// reaps it and finishes every worker it had.
func (s *server) read() {
	buf := make([]byte, 1<<16)
	readyClosed := false
	for {
		n, _, _, _, err := s.conn.ReadMsgUnix(buf, nil)
		if err != nil || n == 0 {
			break
		}
		var m message
		if err := json.Unmarshal(buf[:n], &m); err != nil {
			s.log.Error("fork server sent a malformed message", "framework", s.framework, "err", err)
			continue
		}
		switch m.Op {
		case "ready":
			s.log.Debug("fork server ready", "framework", s.framework, "pid", m.Pid)
			if !readyClosed {
				readyClosed = true
				close(s.ready)
			}
		case "started", "failed":
			s.mu.Lock()
			ch := s.pending[m.ID]
			delete(s.pending, m.ID)
			s.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		case "exit":
			s.mu.Lock()
			w := s.workers[m.ID]
			delete(s.workers, m.ID)
			s.mu.Unlock()
			if w != nil {
				e := &runtime.Exit{Code: m.Code}
				if m.Signal != 0 {
					e = &runtime.Exit{Code: -1, Signal: syscall.Signal(m.Signal).String()}
				}
				go w.finish(e)
			}
		}
	}
	s.conn.Close()
	werr := s.cmd.Wait()
	reason := runtime.ExitReason(runtime.ExitFromWait(werr))
	out := strings.TrimSpace(s.out.String())
	s.mu.Lock()
	s.gone = true
	if !readyClosed {
		s.startErr = fmt.Errorf("%s fork server exited before it was ready (%s): %s", s.framework, reason, lastLines(out, 8))
		close(s.ready)
	}
	workers, pending := s.workers, s.pending
	s.workers, s.pending = map[int]*worker{}, map[int]chan message{}
	s.mu.Unlock()
	if readyClosed {
		s.log.Warn("fork server exited", "framework", s.framework, "how", reason, "output", lastLines(out, 5))
	}
	for _, ch := range pending {
		ch <- message{Op: "failed", Error: "fork server exited (" + reason + ")"}
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.finish(fmt.Errorf("worker lost: its %s fork server exited (%s)", s.framework, reason))
		}()
	}
	wg.Wait()
	close(s.exited)
}

func (s *server) dead() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gone
}

func (s *server) send(m message, oob []byte) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	_, _, err = s.conn.WriteMsgUnix(b, oob, nil)
	return err
}

// signal sends sig to worker id's process group, through the fork server,
// which knows whether the process still exists.
func (s *server) signal(id int, sig syscall.Signal) {
	_ = s.send(message{Op: "signal", ID: id, Signal: int(sig)}, nil)
}

// spawn gives spec a worker: the spare forked ahead of need, if there is
// one, else a worker forked now. Either way the spare is replaced once the
// worker listens (not before: on a busy machine the replacement's fork and
// warm-up would slow this cold start down), so that the next cold start
// finds one too.
func (s *server) spawn(ctx context.Context, spec runtime.Spec) (runtime.Process, error) {
	addr, env, err := process.Contract(spec)
	if err != nil {
		return nil, err
	}
	w := s.takeSpare()
	if w == nil {
		if w, err = s.fork(ctx, false); err != nil {
			go s.fillSpare()
			return nil, err
		}
	}
	go func() {
		<-w.up
		s.fillSpare()
	}()
	if err := s.assign(w, spec, addr, env); err != nil {
		return nil, err
	}
	return w, nil
}

// takeSpare returns the waiting spare worker, if there is a live one.
func (s *server) takeSpare() *worker {
	s.mu.Lock()
	w := s.spare
	s.spare = nil
	s.mu.Unlock()
	if w == nil {
		return nil
	}
	select {
	case <-w.done:
		w.assignment.Close()
		return nil
	default:
		return w
	}
}

// fillSpare forks a spare worker, unless there is one (or one coming).
func (s *server) fillSpare() {
	s.mu.Lock()
	if s.gone || s.closing || s.spare != nil || s.filling {
		s.mu.Unlock()
		return
	}
	s.filling = true
	s.mu.Unlock()
	w, err := s.fork(context.Background(), true)
	s.mu.Lock()
	s.filling = false
	keep := err == nil && !s.gone && !s.closing && s.spare == nil
	if keep {
		s.spare = w
	}
	s.mu.Unlock()
	if err != nil {
		s.log.Debug("spare worker not forked", "framework", s.framework, "err", err)
	} else if !keep {
		w.assignment.Close() // the worker exits, unassigned
	}
}

// fork asks the fork server for a worker and, where workers get cgroups,
// makes its cgroups and moves it in. The worker waits for its assignment;
// a spare warms up first.
func (s *server) fork(ctx context.Context, spare bool) (*worker, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("worker output pipe: %w", err)
	}
	assignR, assignW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("worker assignment pipe: %w", err)
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		for _, f := range []*os.File{outR, outW, assignR, assignW} {
			f.Close()
		}
		return nil, fmt.Errorf("worker ready pipe: %w", err)
	}
	w := &worker{srv: s, assignment: assignW, out: process.NewTail(16384, nil), outDone: make(chan struct{}), done: make(chan struct{}),
		warm: make(chan struct{}), up: make(chan struct{})}
	go w.watchReady(readyR)
	reply := make(chan message, 1)
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		for _, f := range []*os.File{outR, outW, assignR, assignW, readyW} {
			f.Close()
		}
		return nil, fmt.Errorf("%s fork server exited", s.framework)
	}
	s.nextID++
	w.id = s.nextID
	s.pending[w.id] = reply
	s.workers[w.id] = w
	s.mu.Unlock()
	err = s.send(message{Op: "spawn", ID: w.id, Spare: spare}, syscall.UnixRights(int(outW.Fd()), int(assignR.Fd()), int(readyW.Fd())))
	outW.Close()
	assignR.Close()
	readyW.Close()
	go func() {
		_, _ = io.Copy(w.out, outR)
		outR.Close()
		close(w.outDone)
	}()
	if err != nil {
		s.mu.Lock()
		delete(s.pending, w.id)
		delete(s.workers, w.id)
		s.mu.Unlock()
		assignW.Close()
		go w.finish(err)
		return nil, fmt.Errorf("ask %s fork server for a worker: %w", s.framework, err)
	}
	var m message
	select {
	case m = <-reply:
	case <-ctx.Done():
		// A worker that never gets its assignment exits.
		go func() {
			<-reply
			assignW.Close()
		}()
		return nil, ctx.Err()
	}
	if m.Op != "started" {
		assignW.Close()
		s.mu.Lock()
		delete(s.workers, w.id)
		s.mu.Unlock()
		go w.finish(errors.New(m.Error))
		return nil, fmt.Errorf("%s fork server could not start a worker: %s", s.framework, m.Error)
	}
	w.pid = m.Pid
	if s.cgroups != nil {
		dirs, err := s.cgroups.Enter(w.pid)
		if err != nil {
			s.log.Debug("cgroup placement failed", "framework", s.framework, "pid", w.pid, "err", err)
		}
		w.mu.Lock()
		w.cgroups = dirs
		w.mu.Unlock()
	}
	return w, nil
}

// assignment is what a forked worker waits for: the worker's environment
// and working directory.
type assignment struct {
	Env []string `json:"env"`
	Dir string   `json:"dir"`
}

// assign makes w spec's worker: it sets spec's limits on w's cgroups, then
// sends w its environment, on which it loads the model and serves.
func (s *server) assign(w *worker, spec runtime.Spec, addr string, env []string) error {
	defer w.assignment.Close()
	w.addr = addr
	w.out.SetAlso(spec.Output)
	w.mu.Lock()
	dirs := w.cgroups
	w.mu.Unlock()
	if s.cgroups != nil && len(dirs) > 0 {
		if err := s.cgroups.Limit(dirs, spec); err != nil {
			s.log.Debug("cgroup limits failed", "worker", spec.Name, "err", err)
		}
	}
	b, err := json.Marshal(assignment{Env: env, Dir: spec.Dir})
	if err != nil {
		return err
	}
	if _, err := w.assignment.Write(b); err != nil {
		s.signal(w.id, syscall.SIGKILL)
		return fmt.Errorf("%s worker exited before it was assigned: %w", s.framework, err)
	}
	return nil
}

// close stops the fork server: closing its socket makes it kill its
// workers and exit; SIGKILL follows if it lingers.
func (s *server) close() {
	if s.cmd == nil {
		return
	}
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.conn.Close()
	select {
	case <-s.exited:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

// worker is a forked worker process.
type worker struct {
	srv        *server
	id         int
	pid        int
	addr       string
	assignment *os.File // write end of the pipe the worker reads its assignment from
	out        *process.Tail
	outDone    chan struct{}
	done       chan struct{}
	warm       chan struct{} // closed when a spare has warmed up (or the worker is up)
	up         chan struct{} // closed when the worker listens, or is gone

	mu      sync.Mutex
	err     error
	cgroups []string
	once    sync.Once
}

var _ runtime.Process = (*worker)(nil)

func (w *worker) Addr() string          { return w.addr }
func (w *worker) Done() <-chan struct{} { return w.done }
func (w *worker) Pid() int              { return w.pid }
func (w *worker) Output() string        { return w.out.String() }

func (w *worker) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// watchReady follows the worker's ready pipe: "w" once a spare has warmed
// up, end of file once the worker listens (or has exited).
func (w *worker) watchReady(r *os.File) {
	defer r.Close()
	warm := false
	buf := make([]byte, 16)
	for {
		n, err := r.Read(buf)
		if n > 0 && !warm {
			warm = true
			close(w.warm)
		}
		if err != nil {
			break
		}
	}
	if !warm {
		close(w.warm)
	}
	close(w.up)
}

// finish records how the worker ended, waits briefly for the last of its
// output, removes its cgroups and closes done.
func (w *worker) finish(err error) {
	w.once.Do(func() {
		select {
		case <-w.outDone:
		case <-time.After(time.Second):
		}
		w.mu.Lock()
		w.err = err
		dirs := w.cgroups
		w.mu.Unlock()
		w.srv.cgroups.Remove(dirs)
		close(w.done)
	})
}

// Stop sends SIGTERM, then SIGKILL once ctx is done, and waits for the
// worker to exit.
func (w *worker) Stop(ctx context.Context) error {
	select {
	case <-w.done:
		return nil
	default:
	}
	w.srv.signal(w.id, syscall.SIGTERM)
	select {
	case <-w.done:
	case <-ctx.Done():
		w.srv.signal(w.id, syscall.SIGKILL)
		<-w.done
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
