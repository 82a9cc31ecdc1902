package fleet

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"hearth/internal/runtime"
)

// rawWorker is a worker on loopback that answers every request it reads
// with "ok" and counts the bytes it was sent.
type rawWorker struct {
	ln       net.Listener
	received atomic.Int64
}

func newRawWorker(t *testing.T) *rawWorker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &rawWorker{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go w.serve(conn)
		}
	}()
	return w
}

func (w *rawWorker) serve(conn net.Conn) {
	defer conn.Close()
	br := bufio.NewReader(countReader{conn, &w.received})
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		if _, err := io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
			return
		}
	}
}

type countReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// A round trip whose context has ended sends the worker nothing, on a
// kept-alive connection and on a new one alike, and says so (errNotSent),
// so that the worker is not taken for failed.
func TestRoundTripWithEndedContextSendsNothing(t *testing.T) {
	w := newRawWorker(t)
	req := &Request{Request: runtime.Request{Body: []byte("payload"), ContentType: "text/csv"}}
	ended, cancel := context.WithCancel(context.Background())
	cancel()

	// A new connection: not even dialled.
	c := &workerConn{addr: w.ln.Addr().String()}
	if _, _, err := c.roundTrip(ended, req, time.Minute, 1<<20); !errors.Is(err, errNotSent) || !errors.Is(err, context.Canceled) {
		t.Fatalf("round trip with an ended context on no connection: %v, want errNotSent and context.Canceled", err)
	}

	// A kept-alive connection.
	resp, _, err := c.roundTrip(context.Background(), req, time.Minute, 1<<20)
	if err != nil || string(resp.Body) != "ok" {
		t.Fatalf("round trip: %v, %+v", err, resp)
	}
	sent := w.received.Load()
	if _, _, err := c.roundTrip(ended, req, time.Minute, 1<<20); !errors.Is(err, errNotSent) || !errors.Is(err, context.Canceled) {
		t.Fatalf("round trip with an ended context on a kept-alive connection: %v, want errNotSent and context.Canceled", err)
	}
	// The connection still serves, and the worker received one more
	// request only: the one sent next.
	resp, _, err = c.roundTrip(context.Background(), req, time.Minute, 1<<20)
	if err != nil || string(resp.Body) != "ok" {
		t.Fatalf("round trip after one not sent: %v, %+v", err, resp)
	}
	if got := w.received.Load(); got != 2*sent {
		t.Fatalf("the worker received %d bytes over three round trips, want %d (two requests of %d)", got, 2*sent, sent)
	}
}

// A round trip interrupted after its request was written is not reported
// as not sent: the model may have run.
func TestRoundTripInterruptedAfterSendingIsNotNotSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan struct{})
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		if _, err := http.ReadRequest(bufio.NewReader(conn)); err == nil {
			close(got)
		}
		_, _ = io.Copy(io.Discard, conn) // never answers
	}()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-got; cancel() }()
	c := &workerConn{addr: ln.Addr().String()}
	req := &Request{Request: runtime.Request{Body: []byte("payload")}}
	_, _, err = c.roundTrip(ctx, req, time.Minute, 1<<20)
	if !errors.Is(err, context.Canceled) || errors.Is(err, errNotSent) {
		t.Fatalf("round trip canceled while waiting for the answer: %v, want context.Canceled and not errNotSent", err)
	}
}
