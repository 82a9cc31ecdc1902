package process

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hearth/internal/runtime"
)

// TestMain lets the test binary play a standby-capable worker: started
// with a hand-off descriptor, it waits for its hand-off, writes what it
// received to $OUT and sleeps until stopped.
func TestMain(m *testing.M) {
	if os.Getenv(StandbyFDEnv) != "" {
		h, err := ReadHandoff(os.Getenv)
		if err != nil {
			os.Exit(2)
		}
		var out string
		for _, kv := range h.Env {
			if v, ok := strings.CutPrefix(kv, "OUT="); ok {
				out = v
			}
		}
		_ = os.WriteFile(out, []byte(strings.Join(append(h.Env, "DIR="+h.Dir), "\n")), 0o644)
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestStandbyProcessIsHandedTheWorkersEnvironment(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rt := &Runtime{Standby: 1}
	defer rt.Close()
	prog := runtime.Spec{Path: self, Args: []string{"-test.run=^$"}, Standby: true}
	rt.Prewarm(prog)
	deadline := time.Now().Add(10 * time.Second)
	var sparePid int
	for sparePid == 0 && time.Now().Before(deadline) {
		rt.mu.Lock()
		if list := rt.spares[standbyKey(prog)]; len(list) > 0 {
			sparePid = list[0].proc.Pid()
		}
		rt.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	if sparePid == 0 {
		t.Fatal("no standby process was started")
	}
	out := filepath.Join(t.TempDir(), "handoff")
	spec := prog
	spec.Env = []string{"OUT=" + out}
	spec.ModelDir = "/models/a"
	spec.Dir = t.TempDir()
	p, err := rt.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	if p.Pid() != sparePid {
		t.Fatalf("Start started pid %d; the standby process was %d", p.Pid(), sparePid)
	}
	var got []byte
	for time.Now().Before(deadline) {
		if got, err = os.ReadFile(out); err == nil && len(got) > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	port := p.Addr()[strings.LastIndex(p.Addr(), ":")+1:]
	want := "OUT=" + out + "\nSAGEMAKER_BIND_TO_PORT=" + port + "\nSAGEMAKER_SAFE_PORT_RANGE=" + port + "-" + port +
		"\nSM_MODEL_DIR=/models/a\nDIR=" + spec.Dir
	if string(got) != want {
		t.Fatalf("the standby process received\n%s\nwant\n%s", got, want)
	}
	// A replacement standby process is started for the next cold start.
	for time.Now().Before(deadline) {
		rt.mu.Lock()
		n := len(rt.spares[standbyKey(prog)])
		rt.mu.Unlock()
		if n == 1 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no replacement standby process")
}

// A worker's port is probed only when no fork is in progress: a child
// forked meanwhile would hold the probe's listening socket until its exec,
// and a standby process handed the port binds it within microseconds
// ("address already in use").
func TestPortProbeWaitsForForks(t *testing.T) {
	syscall.ForkLock.Lock() // as fork holds it until the child has exec'd
	done := make(chan int, 1)
	go func() {
		port, err := freePort()
		if err != nil {
			t.Error(err)
		}
		done <- port
	}()
	select {
	case port := <-done:
		syscall.ForkLock.Unlock()
		t.Fatalf("port %d was probed while a fork was in progress", port)
	case <-time.After(50 * time.Millisecond):
	}
	syscall.ForkLock.Unlock()
	if port := <-done; port < workerPortLow || port >= workerPortHigh {
		t.Fatalf("port %d, want one in [%d, %d)", port, workerPortLow, workerPortHigh)
	}
}
