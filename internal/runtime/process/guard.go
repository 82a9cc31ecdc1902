package process

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// A Guard makes workers die with the server, however the server dies.
// Each worker runs in a process group of its own and gets SIGKILL when
// the server's thread that started it exits (Pdeathsig), but a worker's
// own children — a model server that forks its real server — would
// outlive a server killed with SIGKILL. The guard is a small process of
// its own, started by the server, which is told the process group of
// every worker; when its standard input reaches end of file (the server
// has exited, whatever the cause, and the kernel closed the pipe), it
// kills every group it was told of, then exits.
type Guard struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	w   io.WriteCloser
}

// StartGuard starts the guard program (the hearth binary's `worker guard`).
func StartGuard(path string, args ...string) (*Guard, error) {
	cmd := exec.Command(path, args...)
	w, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// Its own process group, so a terminal's Ctrl-C, meant for the
	// server, does not stop the guard before the server's workers.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker guard: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	return &Guard{cmd: cmd, w: w}, nil
}

// Watch tells the guard about a worker's process group.
func (g *Guard) Watch(pgid int) { g.send('+', pgid) }

// Forget tells the guard a worker's process group is gone.
func (g *Guard) Forget(pgid int) { g.send('-', pgid) }

func (g *Guard) send(op byte, pgid int) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.w != nil {
		_, _ = fmt.Fprintf(g.w, "%c%d\n", op, pgid)
	}
}

// Close ends the guard, which kills whatever it still watches.
func (g *Guard) Close() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.w == nil {
		return nil
	}
	err := g.w.Close()
	g.w = nil
	return err
}

// RunGuard is the guard process: it reads "+pgid" and "-pgid" lines until
// end of file, then kills every process group still watched.
func RunGuard(r io.Reader) error {
	// The server's terminal may send SIGINT or SIGHUP to everyone.
	ignoreSignals()
	watched := map[int]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if len(line) < 2 {
			continue
		}
		pgid, err := strconv.Atoi(line[1:])
		if err != nil || pgid <= 1 {
			continue
		}
		switch line[0] {
		case '+':
			watched[pgid] = true
		case '-':
			delete(watched, pgid)
		}
	}
	for pgid := range watched {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	return nil
}
