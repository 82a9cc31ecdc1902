package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"

	"hearth/internal/http1"
)

// Server serves a Gateway on one listener with two HTTP servers:
// InvokeEndpoint's requests are read and answered by the invocation
// route's own HTTP/1.1 server (http1), which hands every other request,
// and any it does not fully understand, to net/http with its connection.
// Both apply the limits of ConfigureServer.
type Server struct {
	fast    *http1.Server
	std     *http.Server
	closing atomic.Bool
}

// NewServer returns a Server for g; log gets what the servers report.
func NewServer(g *Gateway, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	std := &http.Server{Handler: g, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	ConfigureServer(std)
	fast := http1.New(g, http1.Options{HeaderTimeout: HeaderTimeout, IdleTimeout: IdleTimeout,
		MaxHeaderBytes: MaxHeaderBytes, Logger: log})
	return &Server{fast: fast, std: std}
}

// Serve serves ln until Shutdown, then returns http.ErrServerClosed; or
// returns what made a server stop.
func (s *Server) Serve(ln net.Listener) error {
	errc := make(chan error, 2)
	go func() { errc <- s.std.Serve(s.fast.Fallback()) }()
	err := s.fast.Serve(ln)
	if !errors.Is(err, http.ErrServerClosed) {
		_ = s.std.Close()
		<-errc
		return err
	}
	if err := <-errc; !s.closing.Load() || !errors.Is(err, net.ErrClosed) {
		return err
	}
	// The fallback listener closed by Shutdown before net/http heard of it.
	return http.ErrServerClosed
}

// Shutdown stops accepting, and waits until the requests in flight on
// both servers are answered or ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	stdErr := make(chan error, 1)
	go func() { stdErr <- s.std.Shutdown(ctx) }()
	return errors.Join(s.fast.Shutdown(ctx), <-stdErr)
}
