package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// logWriter batches the server's log lines so that logging every
// invocation does not cost a write system call on the request path:
// records (each one Write of whole lines, as slog's handlers make them)
// collect in a buffer written out when it fills, every flushEvery, and on
// Close. Lines are never split or reordered.
type logWriter struct {
	mu    sync.Mutex
	buf   *bufio.Writer
	stop  chan struct{}
	done  chan struct{}
	close sync.Once
}

const flushEvery = 100 * time.Millisecond

func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go l.flushLoop()
	return l
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Available() < len(p) {
		if err := l.buf.Flush(); err != nil {
			return 0, err
		}
	}
	return l.buf.Write(p)
}

func (l *logWriter) flushLoop() {
	defer close(l.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			_ = l.buf.Flush()
			l.mu.Unlock()
		}
	}
}

// Close writes out what is buffered and stops the flusher.
func (l *logWriter) Close() error {
	l.close.Do(func() {
		close(l.stop)
		<-l.done
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Flush()
}
