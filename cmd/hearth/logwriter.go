package main

import (
	"bufio"
	"io"
	"sync"
	"time"

	"hearth/internal/clock"
)

// logWriter batches the server's log lines so that logging every
// invocation does not cost a write system call on the request path:
// records (each one Write of whole lines, as slog's handlers make them)
// collect in a buffer written out when it fills, flushEvery after the
// first line since the last flush, and on Close. Lines are never split or
// reordered. A server that logs nothing arms no timer, so an idle server
// is not woken up to flush an empty buffer.
type logWriter struct {
	clock clock.Clock

	mu     sync.Mutex
	buf    *bufio.Writer
	timer  clock.Timer // pending flush; nil when the buffer is empty
	closed bool
}

const flushEvery = 100 * time.Millisecond

func newLogWriter(w io.Writer, c clock.Clock) *logWriter {
	return &logWriter{clock: c, buf: bufio.NewWriterSize(w, 64<<10)}
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Available() < len(p) {
		if err := l.buf.Flush(); err != nil {
			return 0, err
		}
	}
	n, err := l.buf.Write(p)
	if l.closed {
		// Late lines (after Close) are written straight through.
		if ferr := l.buf.Flush(); err == nil {
			err = ferr
		}
		return n, err
	}
	if l.timer == nil && l.buf.Buffered() > 0 {
		l.timer = l.clock.AfterFunc(flushEvery, l.flush)
	}
	return n, err
}

// flush writes out what is buffered; it is the timer's call.
func (l *logWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.timer = nil
	_ = l.buf.Flush()
}

// Close writes out what is buffered and disarms the timer; lines written
// after it go straight through.
func (l *logWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.closed = true
	return l.buf.Flush()
}
