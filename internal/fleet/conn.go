package fleet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"hearth/internal/rawconn"
)

// errInvokeTimeout marks an invocation the worker did not answer in time.
var errInvokeTimeout = errors.New("invocation timed out")

// errNotSent marks a round trip its context ended before any byte of the
// request reached the worker: the worker is as it was.
var errNotSent = errors.New("request not sent")

// workerConn is the one HTTP/1.1 connection Hearth keeps to a worker.
// It is used only by whoever holds the worker.
type workerConn struct {
	addr string // host:port

	conn     net.Conn
	raw      net.Conn // conn, read and written with raw system calls
	br       *bufio.Reader
	bw       *bufio.Writer
	out      countingWriter // what bw writes to: raw, counted
	lastUsed time.Time
	deadline time.Time // conn's deadline, as last set here
	cache    headerCache
	watch    ctxWatch
}

type workerResponse struct {
	Response
	tooLarge bool
}

// idleMax is how long a kept-alive worker connection may sit unused
// before it is replaced rather than reused: model servers close idle
// connections (often after 60 s or more), and a fresh loopback connection
// costs tens of microseconds.
const idleMax = 30 * time.Second

// probeAfter is how long a connection must have been idle before it is
// probed for a close by the worker (one recvfrom). A server closing a
// kept-alive connection says so in its last response ("Connection:
// close"), which closes it here; one closing it silently does so after an
// idle timeout of seconds. A connection answered on within the last
// millisecond is taken as open, which saves a system call per request
// under load. Were it closed after all, the request fails and is not sent
// again.
const probeAfter = time.Millisecond

// roundTrip sends one /invocations request and reads the answer, and
// reports how long the exchange took. A request is written at most once:
// a kept-alive connection is checked for being closed by the worker
// before it is reused, and once any byte of the request has been written,
// a failure is reported, never retried — the model may have run.
func (c *workerConn) roundTrip(ctx context.Context, req *Request, timeout time.Duration, limit int) (*workerResponse, time.Duration, error) {
	start := time.Now()
	if c.conn != nil {
		if idle := start.Sub(c.lastUsed); idle > idleMax || idle > probeAfter && !c.alive() {
			c.close()
		}
	}
	if c.conn == nil {
		d := net.Dialer{Timeout: 2 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			if ctx.Err() != nil {
				return nil, time.Since(start), fmt.Errorf("%w: %w", errNotSent, ctx.Err())
			}
			return nil, time.Since(start), fmt.Errorf("connect to worker: %w", err)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
		c.conn = conn
		c.raw = rawconn.Wrap(conn)
		c.br = bufio.NewReaderSize(c.raw, 16<<10)
		c.out.w = c.raw
		c.bw = bufio.NewWriterSize(&c.out, 16<<10)
	}
	// The deadline is moved on only when less than timeout remains, so
	// that a busy connection does not reset its timers on every request:
	// a request may take up to timeout+deadlineSlack(timeout).
	if c.deadline.Sub(start) < timeout {
		c.deadline = start.Add(timeout + deadlineSlack(timeout))
		_ = c.conn.SetDeadline(c.deadline)
	}
	if !c.watch.begin(ctx, c.conn) {
		if c.watch.end() {
			c.close() // its deadline is spent
		}
		return nil, time.Since(start), fmt.Errorf("%w: %w", errNotSent, ctx.Err())
	}
	c.out.n = 0
	resp, err := c.exchange(req, limit)
	if c.watch.end() && err == nil {
		c.close() // its deadline is spent
	}
	end := time.Now()
	if err != nil {
		c.close()
		var ne net.Error
		switch {
		case ctx.Err() != nil && c.out.n == 0:
			// Interrupted before the first byte was written.
			return nil, end.Sub(start), fmt.Errorf("%w: %w", errNotSent, ctx.Err())
		case ctx.Err() != nil:
			return nil, end.Sub(start), ctx.Err()
		case errors.As(err, &ne) && ne.Timeout():
			return nil, end.Sub(start), fmt.Errorf("%w after %s", errInvokeTimeout, timeout)
		}
		return nil, end.Sub(start), err
	}
	c.lastUsed = end
	return resp, end.Sub(start), nil
}

// deadlineSlack is how much longer than timeout a request may take
// because its connection's deadline was set by an earlier request: a
// sixteenth of it, at most a second.
func deadlineSlack(timeout time.Duration) time.Duration {
	return min(timeout/16, time.Second)
}

// ctxWatch ends a round trip when its context ends, by moving its
// connection's deadline into the past. It registers with a context once
// (context.AfterFunc) and keeps the registration while requests come
// with the same context, as all those from the invocation route's server
// do, rather than registering and unregistering on every request.
type ctxWatch struct {
	mu       sync.Mutex
	done     <-chan struct{} // of the context registered with
	stop     func() bool     // undoes that registration
	busy     net.Conn        // the connection of the round trip in progress
	busyDone <-chan struct{} // that round trip's context's
	fired    bool            // busy was interrupted
}

// begin notes a round trip on conn for ctx. It reports false if ctx has
// already ended.
func (cw *ctxWatch) begin(ctx context.Context, conn net.Conn) bool {
	done := ctx.Done()
	if done == nil {
		return true // never ends
	}
	cw.mu.Lock()
	if done != cw.done {
		if cw.stop != nil {
			cw.stop()
		}
		cw.done = done
		cw.stop = context.AfterFunc(ctx, func() { cw.interrupt(done) })
	}
	cw.busy, cw.busyDone, cw.fired = conn, done, false
	cw.mu.Unlock()
	// After the round trip is noted: a context ending from here on
	// interrupts it.
	return ctx.Err() == nil
}

// interrupt ends the round trip in progress if it belongs to the context
// that ended (done).
func (cw *ctxWatch) interrupt(done <-chan struct{}) {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	if cw.busy != nil && cw.busyDone == done {
		_ = cw.busy.SetDeadline(time.Unix(1, 0))
		cw.fired = true
	}
}

// end notes the round trip over and reports whether it was interrupted,
// which leaves its connection's deadline in the past.
func (cw *ctxWatch) end() (interrupted bool) {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	cw.busy, cw.busyDone = nil, nil
	return cw.fired
}

// close undoes the registration, when the worker is gone.
func (cw *ctxWatch) close() {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	if cw.stop != nil {
		cw.stop()
	}
	cw.done, cw.stop = nil, nil
}

// errNoAnswer: the worker closed the connection after the request was
// sent, without a response.
var errNoAnswer = errors.New("the worker closed the connection without answering")

// alive reports whether the idle connection is still open: nothing to
// read (the worker has not closed it, nor sent anything unasked).
func (c *workerConn) alive() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	rc, ok := c.raw.(*rawconn.Conn)
	if !ok {
		return true
	}
	// Nothing to read: open. Zero bytes: closed by the peer. Data or
	// an error: not reusable.
	data, eof, err := rc.Peek()
	return err == nil && !data && !eof
}

func (c *workerConn) exchange(req *Request, limit int) (*workerResponse, error) {
	bw := c.bw
	bw.WriteString("POST /invocations HTTP/1.1\r\nHost: localhost\r\nUser-Agent: hearth\r\n")
	header := func(k, v string) {
		if v != "" {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	header("Content-Type", req.ContentType)
	header("Accept", req.Accept)
	header("X-Amzn-SageMaker-Custom-Attributes", req.CustomAttributes)
	header("X-Amzn-SageMaker-Inference-Id", req.InferenceID)
	bw.WriteString("Content-Length: ")
	bw.WriteString(strconv.Itoa(len(req.Body)))
	bw.WriteString("\r\n\r\n")
	bw.Write(req.Body)
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if _, err := c.br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) || isConnReset(err) {
			return nil, fmt.Errorf("%w (%v)", errNoAnswer, err)
		}
		return nil, err
	}
	resp, tooLarge, keep, err := readWorkerResponse(c.br, limit, &c.cache)
	if err != nil {
		return nil, fmt.Errorf("read worker response: %w", err)
	}
	out := &workerResponse{Response: resp, tooLarge: tooLarge}
	if tooLarge {
		out.Body = nil
		c.close() // the rest of the body is still on the wire
		return out, nil
	}
	if !keep {
		c.close()
	}
	return out, nil
}

// countingWriter counts the bytes written through it, which tells a
// request that never left from one that was partly sent.
type countingWriter struct {
	w io.Writer
	n int
}

func (cw *countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n += n
	return n, err
}

func (c *workerConn) close() {
	if c.conn != nil {
		_ = c.conn.Close()
	}
	c.conn, c.raw, c.br, c.bw, c.out.w = nil, nil, nil, nil, nil
	c.deadline = time.Time{}
}

func isConnReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout()
}
