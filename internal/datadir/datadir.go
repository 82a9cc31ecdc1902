// Package datadir makes one Hearth server the owner of its data
// directory. Two servers on one directory would both act on the same
// stored endpoints — one deleting what the other still serves — so a
// server takes an exclusive lock on the directory before it touches
// anything in it, and a second server is refused at once, told who holds
// it.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the name of the lock file inside a data directory.
const LockFile = "hearth.lock"

// ErrInUse is returned by Lock when another process holds the directory.
var ErrInUse = errors.New("data directory in use")

// InUseError says which process holds a data directory.
type InUseError struct {
	Dir string
	PID int // 0 if it could not be read
}

func (e *InUseError) Error() string {
	who := "another hearth server"
	if e.PID > 0 {
		who += " (pid " + strconv.Itoa(e.PID) + ")"
	}
	return fmt.Sprintf("data directory %s is in use by %s; stop it, or give this server another --data-dir", e.Dir, who)
}

func (e *InUseError) Unwrap() error { return ErrInUse }

// Lock is a held data directory.
type Lock struct {
	f *os.File
}

// Acquire creates dir (mode 0700) if needed and locks it for this process.
// The lock is held until Release or until the process exits, however it
// exits: the kernel drops it with the file descriptor.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b, _ := os.ReadFile(path)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return nil, &InUseError{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("data directory lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Release gives the directory up.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
