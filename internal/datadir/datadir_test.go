package datadir

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSecondOwnerIsRefused locks a directory from another process and
// checks that this one is refused, told the holder's pid, and that the
// directory can be taken once the holder is gone.
func TestSecondOwnerIsRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if os.Getenv("DATADIR_HOLD") != "" {
		l, err := Acquire(os.Getenv("DATADIR_HOLD"))
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("held\n")
		buf := make([]byte, 1)
		_, _ = os.Stdin.Read(buf) // hold until the parent closes stdin
		_ = l.Release()
		os.Exit(0)
	}
	holder := exec.Command(os.Args[0], "-test.run=^TestSecondOwnerIsRefused$")
	holder.Env = append(os.Environ(), "DATADIR_HOLD="+dir)
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := stdout.Read(buf); err != nil || string(buf) != "held\n" {
		t.Fatalf("holder did not take the lock: %q %v", buf, err)
	}
	_, err = Acquire(dir)
	var iu *InUseError
	if !errors.As(err, &iu) || !errors.Is(err, ErrInUse) {
		t.Fatalf("second Acquire: %v, want InUseError", err)
	}
	if iu.PID != holder.Process.Pid {
		t.Errorf("pid %d, want the holder's %d", iu.PID, holder.Process.Pid)
	}
	if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), strconv.Itoa(holder.Process.Pid)) {
		t.Errorf("message %q should name the directory and the pid", err)
	}
	stdin.Close()
	if err := holder.Wait(); err != nil {
		t.Fatal(err)
	}
	l, err := Acquire(dir)
	if err != nil {
		t.Fatalf("after the holder exited: %v", err)
	}
	defer l.Release()
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %v, want 0700", fi.Mode().Perm())
	}
}
