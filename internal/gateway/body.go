package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"hearth/internal/awserr"
)

// Limits on what one client can make the server hold. The HTTP server is
// configured with the first three (see ConfigureServer); the gateway
// enforces the others while it reads a body.
const (
	// HeaderTimeout bounds the time to read a request's line and header.
	HeaderTimeout = 10 * time.Second
	// MaxHeaderBytes bounds a request's line and header.
	MaxHeaderBytes = 64 << 10
	// IdleTimeout closes a keep-alive connection that has carried no
	// request for this long.
	IdleTimeout = 2 * time.Minute
	// DefaultMaxBody bounds any request body (InvokeEndpoint enforces its
	// own, smaller, per-variant limit on top).
	DefaultMaxBody = 8 << 20
	// DefaultBodyGrace and DefaultBodyMinRate make the floor a body must
	// arrive at: by any moment, a body must have arrived at
	// DefaultBodyMinRate bytes a second counted from DefaultBodyGrace after
	// its header. A slower one is cut with 408 RequestTimeoutException.
	DefaultBodyGrace   = 10 * time.Second
	DefaultBodyMinRate = 16 << 10
)

// ConfigureServer applies the header, header-size and idle limits to hs.
func ConfigureServer(hs *http.Server) {
	hs.ReadHeaderTimeout = HeaderTimeout
	hs.MaxHeaderBytes = MaxHeaderBytes
	hs.IdleTimeout = IdleTimeout
}

// readChunk is how much of a body is read at a time.
const readChunk = 32 << 10

// readBody reads the whole body into memory as it arrives, never sizing
// anything by the Content-Length the client claims, and returns it with its
// hex SHA-256. The connection's read deadline is pushed forward as bytes
// arrive, at the floor rate; a body that falls behind is cut with 408. The
// body is put back in r.Body for handlers that read it themselves.
//
// The deadline is a wall-clock instant handed to the connection, so it is
// computed from time.Now rather than an injectable clock.
func (g *Gateway) readBody(w http.ResponseWriter, r *http.Request) ([]byte, string, error) {
	h := sha256.New()
	if r.Body == nil || r.Body == http.NoBody {
		return nil, hex.EncodeToString(h.Sum(nil)), nil
	}
	rc := http.NewResponseController(w)
	defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	start := time.Now()
	var (
		buf   bytes.Buffer
		chunk []byte
	)
	for {
		allowed := g.opts.BodyGrace + time.Duration(float64(buf.Len())/float64(g.opts.BodyMinRate)*float64(time.Second))
		// ErrNotSupported (a ResponseWriter without a connection) leaves
		// the body without a deadline.
		_ = rc.SetReadDeadline(start.Add(allowed))
		if chunk == nil {
			// A claimed length can only make the chunk smaller.
			size := readChunk
			if r.ContentLength >= 0 && r.ContentLength < readChunk {
				size = int(r.ContentLength) + 1 // room to see EOF
			}
			chunk = make([]byte, size)
		}
		n, err := r.Body.Read(chunk)
		if int64(buf.Len()+n) > g.opts.MaxBody {
			return nil, "", g.errBodyTooLarge()
		}
		buf.Write(chunk[:n])
		h.Write(chunk[:n])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if isTimeout(err) {
				return nil, "", g.errBodyTimeout()
			}
			return nil, "", errBodyRead(err)
		}
	}
	body := buf.Bytes()
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, hex.EncodeToString(h.Sum(nil)), nil
}

func (g *Gateway) errBodyTooLarge() error {
	return awserr.New("ValidationException", http.StatusRequestEntityTooLarge, "Request body exceeds the maximum of %d bytes.", g.opts.MaxBody)
}

func (g *Gateway) errBodyTimeout() error {
	return awserr.New("RequestTimeoutException", http.StatusRequestTimeout,
		"The request body did not arrive within the time allowed (%s plus one second per %d bytes).", g.opts.BodyGrace, g.opts.BodyMinRate)
}

func errBodyRead(err error) error {
	return awserr.New("SerializationException", http.StatusBadRequest, "Unable to read request body: %v", err)
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
