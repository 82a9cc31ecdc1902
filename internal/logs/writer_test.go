package logs_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/google/go-cmp/cmp"

	"hearth/internal/logs"
)

type stamped struct {
	At  time.Duration // after t0
	Msg string
}

func (e *env) stream(t *testing.T, stream string) []stamped {
	t.Helper()
	out, err := e.client.GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	got := []stamped{}
	for _, ev := range out.Events {
		got = append(got, stamped{time.UnixMilli(aws.ToInt64(ev.Timestamp)).Sub(t0), aws.ToString(ev.Message)})
	}
	return got
}

// TestStreamWriterLines feeds a writer output cut at arbitrary places, as
// pipes deliver it: each line is one event stamped when its end arrived.
func TestStreamWriterLines(t *testing.T) {
	e := newEnv(t, logs.Options{})
	w := e.store.NewStreamWriter(group, "AllTraffic/w1")
	for _, step := range []struct {
		write   string
		advance time.Duration
	}{
		{"starting up\nloading mo", time.Second},
		{"del", time.Second},
		{"\r\n\n\nready\n", time.Second},
		{"no newline at exit", 0},
	} {
		w.Write([]byte(step.write))
		e.clock.Advance(step.advance)
	}
	e.flush(t)
	if got := e.stream(t, "AllTraffic/w1"); len(got) != 3 {
		t.Fatalf("before Close: %v", got)
	}
	w.Close()
	w.Write([]byte("after close\n"))
	e.flush(t)
	want := []stamped{
		{0, "starting up"},
		{2 * time.Second, "loading model"},
		{2 * time.Second, "ready"},
		{3 * time.Second, "no newline at exit"},
	}
	if diff := cmp.Diff(want, e.stream(t, "AllTraffic/w1")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestStreamWriterLongLine splits a line longer than an event holds, at a
// UTF-8 boundary.
func TestStreamWriterLongLine(t *testing.T) {
	e := newEnv(t, logs.Options{})
	w := e.store.NewStreamWriter(group, "AllTraffic/w1")
	long := "a" + strings.Repeat("é", logs.MaxMessageBytes) // 2 bytes a rune, so an even cut falls inside one
	w.Write([]byte(long + "\n"))
	w.Close()
	e.flush(t)
	got := e.stream(t, "AllTraffic/w1")
	var joined strings.Builder
	for _, ev := range got {
		if len(ev.Msg) > logs.MaxMessageBytes || !utf8.ValidString(ev.Msg) {
			t.Errorf("event of %d bytes, valid UTF-8 %v", len(ev.Msg), utf8.ValidString(ev.Msg))
		}
		joined.WriteString(ev.Msg)
	}
	if len(got) != 3 || joined.String() != long {
		t.Errorf("%d events; rejoined equal: %v", len(got), joined.String() == long)
	}
}

// TestQueueFullDrops fills the queue in one write: what does not fit is
// dropped and counted, and the write does not wait.
func TestQueueFullDrops(t *testing.T) {
	e := newEnv(t, logs.Options{QueueBytes: 10 * 100})
	w := e.store.NewStreamWriter(group, "AllTraffic/w1")
	line := strings.Repeat("x", 73) + "\n" // 100 bytes queued a line
	w.Write([]byte(strings.Repeat(line, 25)))
	e.flush(t)
	if got := len(e.stream(t, "AllTraffic/w1")); got != 10 {
		t.Errorf("%d lines stored, want the 10 that fit", got)
	}
	if got := e.store.Dropped(); got != 15 {
		t.Errorf("Dropped() = %d, want 15", got)
	}
	// Once written, the queue has room again.
	w.Write([]byte(line))
	e.flush(t)
	if got := len(e.stream(t, "AllTraffic/w1")); got != 11 {
		t.Errorf("%d lines stored, want 11", got)
	}
}

// TestPacedFlush: with nothing asking for a flush, lines reach the store
// once the flush interval has passed on the store's clock.
func TestPacedFlush(t *testing.T) {
	e := newEnv(t, logs.Options{FlushInterval: time.Second})
	w := e.store.NewStreamWriter(group, "AllTraffic/w1")
	w.Write([]byte("one\n"))
	deadline := time.Now().Add(10 * time.Second)
	for len(e.streamOrNone(t)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("first line never written")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The next line waits for the interval (a timer on the fake clock).
	w.Write([]byte("two\n"))
	for e.clock.Pending() < 2 { // the retention sweep's timer and the pacing one
		if time.Now().After(deadline) {
			t.Fatal("no pacing timer set")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := e.streamOrNone(t); len(got) != 1 {
		t.Fatalf("before the interval: %v", got)
	}
	e.clock.Advance(time.Second)
	for len(e.streamOrNone(t)) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("second line not written after the interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) streamOrNone(t *testing.T) []string {
	out, err := e.client.FilterLogEvents(context.Background(), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group)})
	if err != nil {
		return nil
	}
	return filtMsgs(out.Events)
}
