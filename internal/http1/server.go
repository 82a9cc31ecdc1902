// Package http1 serves one hot route of an HTTP API itself, over HTTP/1.1,
// and hands every other request to a net/http server on the same
// listener.
//
// A connection's requests are read into one reused buffer and parsed in
// place; a request the Handler claims is answered with one write of a
// reused buffer, with no goroutine but the connection's own. The first
// request the Handler does not claim — or that this package does not
// fully understand: HTTP/1.0, chunked bodies, Expect, Upgrade, malformed
// or oversized heads — hands the connection, with the bytes already read,
// to the net/http server serving Fallback(), which keeps it from then on
// and answers as it always does.
//
// What net/http does and this package does not: it does not watch a
// connection while its request is served, so a client that hangs up does
// not cancel the request's context (the answer is written to a closed
// connection and dropped); and it never answers an error of its own: a
// request it cannot serve goes to net/http.
package http1

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"hearth/internal/rawconn"
)

// Handler serves the requests it claims.
type Handler interface {
	// Claim reports whether a request with this method and target (as
	// on the wire, query included) is served by ServeHTTP1. It must not
	// keep the slices.
	Claim(method, target []byte) bool
	// ServeHTTP1 serves one claimed request. ctx ends when the server is
	// closed. The Exchange is valid until ServeHTTP1 returns.
	ServeHTTP1(ctx context.Context, ex *Exchange)
}

// Options bound what a client can make the server hold.
type Options struct {
	// HeaderTimeout bounds the time from a request's first byte to the
	// end of its head; IdleTimeout, the wait for a kept-alive
	// connection's next request.
	HeaderTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's head; a larger one goes to the
	// fallback server, which refuses it.
	MaxHeaderBytes int
	Logger         *slog.Logger
}

// Server accepts connections, serves the requests its Handler claims and
// hands the rest to the fallback server.
type Server struct {
	h    Handler
	opts Options
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc

	fallback *handoff
	closing  atomic.Bool

	mu    sync.Mutex
	ln    net.Listener
	conns map[*conn]struct{}
	done  chan struct{} // closed when conns empties during shutdown

	date dateCache
}

// New returns a Server for h.
func New(h Handler, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HeaderTimeout <= 0 {
		opts.HeaderTimeout = 10 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 2 * time.Minute
	}
	if opts.MaxHeaderBytes <= 0 {
		opts.MaxHeaderBytes = http.DefaultMaxHeaderBytes
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{h: h, opts: opts, log: opts.Logger, ctx: ctx, cancel: cancel,
		fallback: newHandoff(), conns: make(map[*conn]struct{})}
}

// Fallback is the listener the fallback net/http server serves: it
// yields the connections this server hands over. Its address is the real
// listener's once Serve has been called.
func (s *Server) Fallback() net.Listener { return s.fallback }

// Serve accepts connections on ln until ln is closed or Shutdown is
// called; it then returns http.ErrServerClosed, or the accept error.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.ln = ln
	s.fallback.setAddr(ln.Addr())
	s.mu.Unlock()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: back off, as
				// net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			_ = s.fallback.Close()
			return err
		}
		delay = 0
		c := &conn{s: s, nc: nc, rw: rawconn.Wrap(nc)}
		if !s.track(c) {
			_ = nc.Close()
			continue
		}
		go c.serve()
	}
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if len(s.conns) == 0 && s.done != nil {
		close(s.done)
		s.done = nil
	}
}

// Shutdown stops accepting, closes the fallback listener, closes idle
// connections and waits for those serving a request to finish it. When
// ctx ends first, the rest are closed and its error returned. The
// connections already handed over are the fallback server's to shut down.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	if s.ln != nil {
		_ = s.ln.Close()
	}
	_ = s.fallback.Close()
	var done chan struct{}
	if len(s.conns) > 0 {
		done = make(chan struct{})
		s.done = done
	}
	for c := range s.conns {
		if c.idle.Load() {
			c.wake()
		}
	}
	s.mu.Unlock()
	if done == nil {
		s.cancel()
		return nil
	}
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
	}
	s.cancel()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.nc.Close()
	}
	s.mu.Unlock()
	return ctx.Err()
}

// handoff is a net.Listener whose connections come from the Server.
type handoff struct {
	ch        chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	addr      atomic.Value // net.Addr
}

func newHandoff() *handoff {
	return &handoff{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (h *handoff) setAddr(a net.Addr) { h.addr.Store(a) }

func (h *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.ch:
		return c, nil
	case <-h.done:
		return nil, net.ErrClosed
	}
}

func (h *handoff) Close() error {
	h.closeOnce.Do(func() { close(h.done) })
	return nil
}

func (h *handoff) Addr() net.Addr {
	if a, ok := h.addr.Load().(net.Addr); ok {
		return a
	}
	return &net.TCPAddr{}
}

// give hands c to the fallback server, or closes it if that has stopped.
func (h *handoff) give(c net.Conn) {
	select {
	case h.ch <- c:
	case <-h.done:
		_ = c.Close()
	}
}

// replayConn is a handed-over connection: the bytes already read from it
// are read again first.
type replayConn struct {
	net.Conn
	buffered []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.buffered) > 0 {
		n := copy(p, c.buffered)
		c.buffered = c.buffered[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite lets net/http half-close the connection, as it does a
// *net.TCPConn's, so that a client sees its response before the close.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// dateCache formats the Date header once a second.
type dateCache struct {
	v atomic.Pointer[dateStamp]
}

type dateStamp struct {
	sec int64
	b   []byte
}

func (d *dateCache) get(now time.Time) []byte {
	sec := now.Unix()
	if st := d.v.Load(); st != nil && st.sec == sec {
		return st.b
	}
	st := &dateStamp{sec: sec, b: now.UTC().AppendFormat(nil, http.TimeFormat)}
	d.v.Store(st)
	return st.b
}
