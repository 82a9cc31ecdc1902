package logs

import (
	"bytes"
	"io"
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
	now := w.s.clock.Now().UnixMilli()
	var buf [16]Event
	evs := buf[:0]
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return n, nil
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			w.partial = append(w.partial, b...)
			for len(w.partial) > MaxMessageBytes {
				cut := splitAt(w.partial, MaxMessageBytes)
				evs = w.event(evs, w.partial[:cut], now)
				w.partial = append(w.partial[:0], w.partial[cut:]...)
			}
			break
		}
		line := b[:i]
		if len(w.partial) > 0 {
			w.partial = append(w.partial, line...)
			line = w.partial
		}
		for len(line) > MaxMessageBytes {
			cut := splitAt(line, MaxMessageBytes)
			evs = w.event(evs, line[:cut], now)
			line = line[cut:]
		}
		evs = w.event(evs, bytes.TrimSuffix(line, []byte{'\r'}), now)
		w.partial = w.partial[:0]
		b = b[i+1:]
	}
	w.mu.Unlock()
	if len(evs) > 0 {
		w.s.enqueue(evs)
	}
	return n, nil
}

func (w *StreamWriter) event(evs []Event, line []byte, now int64) []Event {
	if len(line) == 0 {
		return evs
	}
	return append(evs, Event{Group: w.group, Stream: w.stream, Time: now, Message: string(line)})
}

// splitAt returns where to cut b so the first part is at most max bytes
// and does not end inside a UTF-8 sequence.
func splitAt(b []byte, max int) int {
	cut := max
	for cut > max-utf8.UTFMax && cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	if cut == 0 {
		return max
	}
	return cut
}

// Close queues a last line that had no newline; later writes are ignored.
func (w *StreamWriter) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	var evs []Event
	if len(w.partial) > 0 {
		evs = w.event(nil, bytes.TrimSuffix(w.partial, []byte{'\r'}), w.s.clock.Now().UnixMilli())
		w.partial = nil
	}
	w.mu.Unlock()
	if len(evs) > 0 {
		w.s.enqueue(evs)
	}
	return nil
}
