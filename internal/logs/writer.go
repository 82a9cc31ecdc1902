package logs

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// StreamWriter turns a worker's output into events of one stream. It is
// safe for concurrent use; Write never blocks on the database.
type StreamWriter struct {
	s             *Store
	group, stream string

	mu      sync.Mutex
	partial []byte // a line begun but not yet ended
	last    int64  // the latest time stamped: times never go back
	closed  bool
}

var _ io.WriteCloser = (*StreamWriter)(nil)

// NewStreamWriter returns a writer whose lines become events of stream in
// group. The group and stream are created with their first line.
func (s *Store) NewStreamWriter(group, stream string) *StreamWriter {
	return &StreamWriter{s: s, group: group, stream: stream}
}

// Write splits b into lines ("\n" or "\r\n" ends one), stamps them with
// the current time and queues them. A line without its newline waits for
// the rest (or Close); one longer than MaxMessageBytes is split. Empty
// lines are skipped, as CloudWatch Logs keeps no empty event. Write always
// reports len(b), nil: a line the queue has no room for is dropped.
func (w *StreamWriter) Write(b []byte) (int, error) {
	n := len(b)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return n, nil
	}
	now := w.now()
	var buf [16]Event
	evs := buf[:0]
	if end := bytes.LastIndexByte(b, '\n'); end >= 0 {
		// One string holds every line this write completes; the events'
		// messages are pieces of it.
		text := string(b[:end])
		first := true
		for line := range strings.SplitSeq(text, "\n") {
			if first && len(w.partial) > 0 {
				line = string(append(w.partial, line...))
				w.partial = w.partial[:0]
			}
			first = false
			evs = w.lines(evs, line, now)
		}
		b = b[end+1:]
	}
	w.partial = append(w.partial, b...)
	for len(w.partial) > MaxMessageBytes {
		cut := splitAt(w.partial, MaxMessageBytes)
		evs = w.event(evs, string(w.partial[:cut]), now)
		w.partial = append(w.partial[:0], w.partial[cut:]...)
	}
	if len(evs) > 0 {
		w.s.enqueue(evs) // under w.mu, so a stream's lines queue in order
	}
	return n, nil
}

// lines appends line's events: without a trailing "\r", split if longer
// than an event holds.
func (w *StreamWriter) lines(evs []Event, line string, now int64) []Event {
	line = strings.TrimSuffix(line, "\r")
	for len(line) > MaxMessageBytes {
		cut := splitAt(line, MaxMessageBytes)
		evs = w.event(evs, line[:cut], now)
		line = line[cut:]
	}
	return w.event(evs, line, now)
}

func (w *StreamWriter) event(evs []Event, msg string, now int64) []Event {
	if msg == "" {
		return evs
	}
	return append(evs, Event{Group: w.group, Stream: w.stream, Time: now, Message: msg})
}

// splitAt returns where to cut b so the first part is at most max bytes
// and does not end inside a UTF-8 sequence.
func splitAt[T string | []byte](b T, max int) int {
	cut := max
	for cut > max-utf8.UTFMax && cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	if cut == 0 {
		return max
	}
	return cut
}

// now is the time to stamp lines with: the clock's, or the last stamp if
// the clock went back.
func (w *StreamWriter) now() int64 {
	w.last = max(w.last, w.s.clock.Now().UnixMilli())
	return w.last
}

// Close queues a last line that had no newline; later writes are ignored.
func (w *StreamWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if len(w.partial) > 0 {
		if evs := w.lines(nil, string(w.partial), w.now()); len(evs) > 0 {
			w.s.enqueue(evs)
		}
		w.partial = nil
	}
	return nil
}
