package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"hearth/internal/clock"
)

// Lines written from many goroutines come out whole, none lost, once the
// writer is closed.
func TestLogWriterKeepsLinesWhole(t *testing.T) {
	var out syncBuffer
	w := newLogWriter(&out, clock.Real{})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				fmt.Fprintf(w, "goroutine=%d line=%d %s\n", g, i, strings.Repeat("x", 40))
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8*2000 {
		t.Fatalf("%d lines, want %d", len(lines), 8*2000)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "goroutine=") || !strings.HasSuffix(l, strings.Repeat("x", 40)) {
			t.Fatalf("torn line %q", l)
		}
	}
}

// A line is out flushEvery after it was written, not before; a writer
// with nothing to write sets no timer, so an idle server sleeps; lines
// written after Close go straight out.
func TestLogWriterFlushesOnlyWhatIsWritten(t *testing.T) {
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	var out syncBuffer
	w := newLogWriter(&out, fake)
	if n := fake.Pending(); n != 0 {
		t.Fatalf("a new writer set %d timers, want none", n)
	}
	fmt.Fprintln(w, "first")
	fake.Advance(flushEvery / 2)
	fmt.Fprintln(w, "second")
	if got := out.String(); got != "" {
		t.Fatalf("written out before flushEvery: %q", got)
	}
	if n := fake.Pending(); n != 1 {
		t.Fatalf("%d timers pending with lines buffered, want 1", n)
	}
	fake.Advance(flushEvery / 2)
	if got := out.String(); got != "first\nsecond\n" {
		t.Fatalf("after flushEvery: %q, want both lines", got)
	}
	if n := fake.Pending(); n != 0 {
		t.Fatalf("%d timers pending with nothing buffered, want none", n)
	}
	fake.Advance(time.Hour)
	fmt.Fprintln(w, "third")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := fake.Pending(); n != 0 {
		t.Fatalf("%d timers pending after Close, want none", n)
	}
	fmt.Fprintln(w, "late")
	if got := out.String(); got != "first\nsecond\nthird\nlate\n" {
		t.Fatalf("after Close: %q", got)
	}
}
