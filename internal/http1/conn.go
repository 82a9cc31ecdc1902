package http1

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
)

const (
	// bufSize is a connection's read buffer to begin with; it grows
	// to hold a larger head, up to the header limit.
	bufSize = 4 << 10
	// keepBuf is the largest buffer a connection keeps between requests:
	// a larger one, grown for one big request or answer, is let go.
	keepBuf = 64 << 10
	// inlineBody is the largest response body copied after its head for
	// one write; a larger one is written with it by writev.
	inlineBody = 16 << 10
)

// conn is one client connection while this server keeps it.
type conn struct {
	s  *Server
	nc net.Conn
	// rw reads and writes nc with raw system calls (package rawconn);
	// a connection handed off to net/http goes as nc.
	rw net.Conn

	buf  []byte // buf[r:w] is read but not yet consumed
	r, w int

	head   head
	headAt int      // where c.head starts in buf
	ex     Exchange // c.head's, while it is served
	resp   response
	out    []byte

	idle atomic.Bool // waiting for a request's first byte
	// rdl is nc's read deadline as this connection's goroutine last set
	// it (wake, from another, sets it in the past to end the connection).
	rdl time.Time
}

// setReadDeadline sets nc's read deadline.
func (c *conn) setReadDeadline(t time.Time) error {
	c.rdl = t
	return c.nc.SetReadDeadline(t)
}

// armIdle gives the client IdleTimeout to begin its next request. The
// deadline is moved on only when less than IdleTimeout−idleSlack of it
// remains, so that a busy connection does not reset its timer on every
// request: a connection is closed after between IdleTimeout−idleSlack and
// IdleTimeout without a request.
func (c *conn) armIdle() error {
	now := time.Now()
	timeout := c.s.opts.IdleTimeout
	if left := c.rdl.Sub(now); left >= timeout-idleSlack(timeout) && left <= timeout {
		return nil
	}
	return c.setReadDeadline(now.Add(timeout))
}

// idleSlack is a sixteenth of the idle timeout, at most a second.
func idleSlack(timeout time.Duration) time.Duration { return min(timeout/16, time.Second) }

// lingerClose closes a connection whose request body was not read,
// after the response: it half-closes and drains what the client is still
// sending for a moment, so that the client's TCP stack does not discard
// the response on a reset, as net/http does.
func (c *conn) lingerClose() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		_ = c.setReadDeadline(time.Now().Add(lingerTime))
		_, _ = io.Copy(io.Discard, io.LimitReader(c.nc, lingerBytes))
	}
}

// lingerTime and lingerBytes bound the drain of lingerClose.
const (
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 256 << 10
)

// wake makes a read waiting on the connection return at once.
func (c *conn) wake() { _ = c.nc.SetReadDeadline(time.Unix(1, 0)) }

func (c *conn) serve() {
	handedOff := false
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			c.s.log.Error("http1: panic serving a request", "remote", c.nc.RemoteAddr().String(), "panic", fmt.Sprint(v), "stack", string(buf))
		}
		if !handedOff {
			_ = c.nc.Close()
		}
		c.s.untrack(c)
	}()
	c.buf = make([]byte, bufSize)
	for {
		err := c.readHead()
		switch {
		case errors.Is(err, errDecline):
			handedOff = c.handOff()
			return
		case err != nil:
			return // closed, timed out, or the server is shutting down
		}
		if !c.s.h.Claim(c.head.method, c.head.target) {
			handedOff = c.handOff()
			return
		}
		if !c.exchange() {
			return
		}
	}
}

// handOff gives the connection, and the bytes read from it, to the
// fallback server.
func (c *conn) handOff() bool {
	if c.s.closing.Load() {
		return false
	}
	buffered := bytes.Clone(c.buf[c.r:c.w])
	c.s.fallback.give(&replayConn{Conn: c.nc, buffered: buffered})
	return true
}

// readHead reads until buf[r:w] starts with a whole request head, and
// parses it into c.head.
func (c *conn) readHead() error {
	var first time.Time
	for {
		if c.w > c.r {
			err := parseHead(c.buf[c.r:c.w], &c.head)
			if err == nil && c.head.size > c.s.opts.MaxHeaderBytes || errors.Is(err, errIncomplete) && c.w-c.r > c.s.opts.MaxHeaderBytes {
				return errDecline // net/http answers 431
			}
			if !errors.Is(err, errIncomplete) {
				return err
			}
		}
		if c.r == c.w {
			c.r, c.w = 0, 0
			if err := c.armIdle(); err != nil {
				return err
			}
			c.idle.Store(true)
			if c.s.closing.Load() {
				return http.ErrServerClosed
			}
		} else if first.IsZero() {
			first = time.Now()
			if err := c.setReadDeadline(first.Add(c.s.opts.HeaderTimeout)); err != nil {
				return err
			}
		}
		c.room()
		n, err := c.rw.Read(c.buf[c.w:])
		c.idle.Store(false)
		c.w += n
		if n > 0 && first.IsZero() && err == nil {
			continue // the head timer starts on the next pass
		}
		if err != nil {
			if c.w > c.r && !errors.Is(err, os.ErrDeadlineExceeded) {
				// A head cut short: net/http's to answer or drop.
				return errDecline
			}
			return err
		}
	}
}

// room makes space to read into: the unread bytes move to the front,
// and the buffer doubles when they fill it.
func (c *conn) room() {
	if c.w < len(c.buf) {
		return
	}
	if c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
		if c.w < len(c.buf) {
			return
		}
	}
	nb := make([]byte, 2*len(c.buf))
	copy(nb, c.buf[:c.w])
	c.buf = nb
}

// exchange serves the claimed request in c.head and writes its answer.
// It reports whether the connection stays open for another request.
func (c *conn) exchange() bool {
	c.ex = Exchange{c: c, bodyRead: c.head.contentLength == 0}
	ex := &c.ex
	c.resp.reset()
	c.headAt = c.r
	c.r += c.head.size
	c.s.h.ServeHTTP1(c.s.ctx, ex)
	keep := ex.bodyRead && !c.head.close && !c.s.closing.Load() && c.resp.header.Get("Connection") != "close"
	if err := c.writeResponse(keep); err != nil {
		return false
	}
	if !ex.bodyRead {
		c.lingerClose()
		return false
	}
	if cap(c.buf) > keepBuf && c.r == c.w {
		c.buf, c.r, c.w = make([]byte, bufSize), 0, 0
	}
	return keep
}

func (c *conn) writeResponse(keep bool) error {
	rw := &c.resp
	status := rw.status
	if status == 0 {
		status = http.StatusOK
	}
	b := c.out[:0]
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\n"...)
	for k, vs := range rw.header {
		switch k {
		case "Content-Length", "Connection", "Transfer-Encoding":
			continue // the server's own
		}
		if !isToken([]byte(k)) {
			continue // as net/http, which drops invalid names
		}
		for _, v := range vs {
			b = appendField(b, k, v)
		}
	}
	if _, ok := rw.header["Content-Type"]; !ok && len(rw.body) > 0 && rw.header.Get("Content-Encoding") == "" {
		b = appendField(b, "Content-Type", http.DetectContentType(rw.body))
	}
	if _, ok := rw.header["Date"]; !ok {
		b = append(b, "Date: "...)
		b = append(b, c.s.date.get(time.Now())...)
		b = append(b, "\r\n"...)
	}
	if bodyAllowed(status) {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(rw.body)), 10)
		b = append(b, "\r\n"...)
	}
	if !keep {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	var err error
	if len(rw.body) <= inlineBody {
		b = append(b, rw.body...)
		_, err = c.rw.Write(b)
	} else {
		bufs := net.Buffers{b, rw.body}
		_, err = bufs.WriteTo(c.rw)
	}
	c.out = b[:0]
	if cap(c.out) > keepBuf {
		c.out = nil
	}
	if cap(rw.body) > keepBuf {
		rw.body = nil
	}
	return err
}

// appendField appends "k: v\r\n", with any CR or LF in v made a space, as
// net/http does.
func appendField(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	start := len(b)
	b = append(b, v...)
	for i := start; i < len(b); i++ {
		if b[i] == '\r' || b[i] == '\n' {
			b[i] = ' '
		}
	}
	return append(b, "\r\n"...)
}

// response is the http.ResponseWriter of a claimed request: its header
// map and body buffer are the connection's, reused.
type response struct {
	header http.Header
	status int
	body   []byte
	late   http.Header // Header()'s answer once the status is written
}

func (rw *response) reset() {
	if rw.header == nil {
		rw.header = make(http.Header, 8)
	} else {
		clear(rw.header)
	}
	rw.status = 0
	rw.body = rw.body[:0]
	rw.late = nil
}

// Header is the response's header until the status is written; as with
// net/http, changes made after that are not sent.
func (rw *response) Header() http.Header {
	if rw.status == 0 {
		return rw.header
	}
	if rw.late == nil {
		rw.late = rw.header.Clone()
	}
	return rw.late
}

func (rw *response) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code)) // as net/http
	}
	if rw.status == 0 {
		rw.status = code
	}
}

func (rw *response) Write(p []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	if !bodyAllowed(rw.status) {
		return 0, http.ErrBodyNotAllowed
	}
	rw.body = append(rw.body, p...)
	return len(p), nil
}

// bodyAllowed reports whether a response of this status may have a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// Exchange is one claimed request and its response.
type Exchange struct {
	c        *conn
	bodyRead bool // the connection is at the next request
	bodyDone bool // ReadBody was called
}

// ResponseWriter collects the response, which is written once the
// handler returns. A "Connection: close" header closes the connection
// after it.
func (ex *Exchange) ResponseWriter() http.ResponseWriter { return &ex.c.resp }

// Target is the request target as on the wire: the escaped path and any
// query.
func (ex *Exchange) Target() string { return string(ex.c.head.target) }

// Get returns the first value of the named header field, or "".
func (ex *Exchange) Get(name string) string {
	if v := ex.c.head.get(name); v != nil {
		return string(v)
	}
	return ""
}

// ContentLength is the request body's declared length.
func (ex *Exchange) ContentLength() int64 { return ex.c.head.contentLength }

// Request parses the head again as net/http would, for code that needs
// an *http.Request (signature checks). Its Body is empty: the body is
// read with ReadBody.
func (ex *Exchange) Request() (*http.Request, error) {
	c := ex.c
	headBytes := c.buf[c.headAt : c.headAt+c.head.size]
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(headBytes)))
	if err != nil {
		return nil, err
	}
	r.RemoteAddr = c.nc.RemoteAddr().String()
	r.Body = http.NoBody
	return r, nil
}

// Body errors.
var (
	// ErrBodyTooLarge: the declared length is over the caller's limit.
	// Nothing of the body has been read.
	ErrBodyTooLarge = errors.New("http1: request body too large")
	// ErrBodyTimeout: the body fell behind the floor rate.
	ErrBodyTimeout = errors.New("http1: request body too slow")
)

// ReadBody reads the request's body, at most once. A body declared
// longer than limit is refused unread (ErrBodyTooLarge). Otherwise the
// memory it takes grows only as bytes arrive, never sized by the length
// the client claims, and by any moment the body must have arrived at
// minRate bytes a second counted from grace after the head
// (ErrBodyTimeout); a minRate ≤ 0 sets no floor. Each byte is written to sum when it is not nil. The
// returned slice is the caller's.
func (ex *Exchange) ReadBody(limit int64, sum hash.Hash, grace time.Duration, minRate int64) ([]byte, error) {
	if ex.bodyDone {
		return nil, errors.New("http1: body already read")
	}
	ex.bodyDone = true
	c := ex.c
	n := c.head.contentLength
	if n > limit {
		return nil, ErrBodyTooLarge
	}
	avail := int64(c.w - c.r)
	if avail >= n {
		body := bytes.Clone(c.buf[c.r : c.r+int(n)])
		if n == 0 {
			body = nil
		}
		c.r += int(n)
		ex.bodyRead = true
		if sum != nil {
			sum.Write(body)
		}
		return body, nil
	}
	body := make([]byte, avail, min(n, max(avail, bufSize))) // grown as bytes arrive
	copy(body, c.buf[c.r:c.w])
	c.r = c.w
	start := time.Now()
	for int64(len(body)) < n {
		var deadline time.Time // minRate ≤ 0: no floor
		if minRate > 0 {
			deadline = start.Add(grace + time.Duration(float64(len(body))/float64(minRate)*float64(time.Second)))
		}
		if err := c.setReadDeadline(deadline); err != nil {
			return nil, err
		}
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
			if int64(cap(body)) > n {
				body = body[:len(body):int(n)]
			}
		}
		m, err := c.rw.Read(body[len(body):cap(body)])
		body = body[:len(body)+m]
		if err != nil && int64(len(body)) < n {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, ErrBodyTimeout
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	ex.bodyRead = true
	if sum != nil {
		sum.Write(body)
	}
	return body, nil
}
