package fleet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// errInvokeTimeout marks an invocation the worker did not answer in time.
var errInvokeTimeout = errors.New("invocation timed out")

// workerConn is the one HTTP/1.1 connection Hearth keeps to a worker.
// It is used only by whoever holds the worker.
type workerConn struct {
	addr string // host:port

	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
}

type workerResponse struct {
	Response
	tooLarge bool
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// roundTrip sends one /invocations request and reads the answer.
func (c *workerConn) roundTrip(ctx context.Context, req *Request, timeout time.Duration, limit int) (*workerResponse, error) {
	reused := c.conn != nil
	resp, err := c.try(ctx, req, timeout, limit)
	if err != nil && reused && errors.Is(err, errStaleConn) {
		// The worker closed the idle connection before reading anything
		// of this request (as HTTP servers with idle timeouts do); the
		// request never reached it, so sending it anew is safe.
		resp, err = c.try(ctx, req, timeout, limit)
	}
	return resp, err
}

var errStaleConn = errors.New("connection closed by worker before the request was read")

func (c *workerConn) try(ctx context.Context, req *Request, timeout time.Duration, limit int) (*workerResponse, error) {
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
		c.br = bufio.NewReaderSize(conn, 16<<10)
		c.bw = bufio.NewWriterSize(conn, 16<<10)
	}
	conn := c.conn
	_ = conn.SetDeadline(time.Now().Add(timeout))
	timedOut := false
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	resp, err := c.exchange(req, limit)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
			timedOut = true
		}
		c.close()
		if timedOut {
			return nil, fmt.Errorf("%w after %s", errInvokeTimeout, timeout)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return resp, nil
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
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isConnReset(err) {
			return nil, fmt.Errorf("%w: %v", errStaleConn, err)
		}
		return nil, err
	}
	hr, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return nil, fmt.Errorf("read worker response: %w", err)
	}
	bp := bufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	lr := io.LimitReader(hr.Body, int64(limit)+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, rerr := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			*bp = buf
			bufPool.Put(bp)
			return nil, fmt.Errorf("read worker response body: %w", rerr)
		}
	}
	body := append([]byte(nil), buf...)
	*bp = buf[:0]
	if cap(buf) <= 1<<20 {
		bufPool.Put(bp)
	}
	out := &workerResponse{Response: Response{
		Status:           hr.StatusCode,
		ContentType:      hr.Header.Get("Content-Type"),
		CustomAttributes: hr.Header.Get("X-Amzn-SageMaker-Custom-Attributes"),
		Body:             body,
	}}
	if len(body) > limit {
		out.tooLarge = true
		out.Body = nil
		c.close() // the rest of the body is still on the wire
		return out, nil
	}
	if hr.Close {
		c.close()
	}
	return out, nil
}

func (c *workerConn) close() {
	if c.conn != nil {
		_ = c.conn.Close()
	}
	c.conn, c.br, c.bw = nil, nil, nil
}

func isConnReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout()
}
