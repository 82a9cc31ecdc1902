package fleet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"hearth/internal/rawconn"
)

// errInvokeTimeout marks an invocation the worker did not answer in time.
var errInvokeTimeout = errors.New("invocation timed out")

// workerConn is the one HTTP/1.1 connection Hearth keeps to a worker.
// It is used only by whoever holds the worker.
type workerConn struct {
	addr string // host:port

	conn     net.Conn
	raw      net.Conn // conn, read and written with raw system calls
	br       *bufio.Reader
	bw       *bufio.Writer
	lastUsed time.Time
	cache    headerCache
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

// roundTrip sends one /invocations request and reads the answer. A
// request is written at most once: a kept-alive connection is checked for
// being closed by the worker before it is reused, and once any byte of the
// request has been written, a failure is reported, never retried — the
// model may have run.
func (c *workerConn) roundTrip(ctx context.Context, req *Request, timeout time.Duration, limit int) (*workerResponse, error) {
	if c.conn != nil {
		if idle := time.Since(c.lastUsed); idle > idleMax || idle > probeAfter && !c.alive() {
			c.close()
		}
	}
	if c.conn == nil {
		d := net.Dialer{Timeout: 2 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return nil, fmt.Errorf("connect to worker: %w", err)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
		c.conn = conn
		c.raw = rawconn.Wrap(conn)
		c.br = bufio.NewReaderSize(c.raw, 16<<10)
		c.bw = bufio.NewWriterSize(c.raw, 16<<10)
	}
	conn := c.conn
	_ = conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	resp, err := c.exchange(req, limit)
	if err != nil {
		c.close()
		var ne net.Error
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.As(err, &ne) && ne.Timeout():
			return nil, fmt.Errorf("%w after %s", errInvokeTimeout, timeout)
		}
		return nil, err
	}
	c.lastUsed = time.Now()
	return resp, nil
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

func (c *workerConn) close() {
	if c.conn != nil {
		_ = c.conn.Close()
	}
	c.conn, c.raw, c.br, c.bw = nil, nil, nil, nil
}

func isConnReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout()
}
