package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"hearth/internal/awserr"
	"hearth/internal/control"
)

// Authenticator checks a request's AWS signature. body is the whole request
// body. A rejection is an *awserr.Error (403 with the AWS code).
type Authenticator interface {
	Authenticate(r *http.Request, body []byte) error
}

// Invoker serves SageMaker Runtime requests (POST /endpoints/{name}/…).
type Invoker interface {
	ServeInvoke(w http.ResponseWriter, r *http.Request, endpoint string, body []byte)
}

// Options wire a Gateway. Only Control is required.
type Options struct {
	Control *control.Service
	// AutoScaling handles AnyScaleFrontendService.* operations.
	AutoScaling map[string]operation
	// CloudWatch serves CloudWatch requests on all its protocols; Match
	// tells whether a request is one.
	CloudWatch      http.Handler
	CloudWatchMatch func(r *http.Request) bool
	// Logs handles Logs_20140328.* (CloudWatch Logs) operations.
	Logs map[string]operation
	// Invoker serves InvokeEndpoint.
	Invoker Invoker
	// Metrics serves GET /metrics (Prometheus).
	Metrics http.Handler
	// Auth, when set, must accept every API request.
	Auth   Authenticator
	Logger *slog.Logger
	// MaxBody bounds any request body (the invoke path enforces its own,
	// smaller, per-variant limits).
	MaxBody int64
}

// Gateway is the http.Handler for every Hearth API.
type Gateway struct {
	opts   Options
	log    *slog.Logger
	sm     map[string]operation
	ready  atomic.Bool
	reqSeq atomic.Uint64
	idBase string
}

// New returns a Gateway. It answers /healthz with 503 until SetReady.
func New(opts Options) *Gateway {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = 8 << 20
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Gateway{opts: opts, log: opts.Logger, sm: sageMakerOps(opts.Control), idBase: hex.EncodeToString(b[:])}
}

// SetReady marks the server ready (GET /healthz → 200).
func (g *Gateway) SetReady(ready bool) { g.ready.Store(ready) }

func (g *Gateway) requestID() string {
	n := g.reqSeq.Add(1)
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	// A UUID-shaped id: 8-4-4-4-12 hex digits.
	s := g.idBase + hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

const (
	json11 = "application/x-amz-json-1.1"
)

// ServeHTTP routes one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// net/http adds the Date header the SDKs use to correct clock skew.
	w.Header()["X-Amzn-Requestid"] = []string{g.requestID()}

	switch {
	case r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		if !g.ready.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
		return
	case r.URL.Path == "/metrics" && r.Method == http.MethodGet && g.opts.Metrics != nil:
		g.opts.Metrics.ServeHTTP(w, r)
		return
	}

	body, err := g.readBody(r)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	if g.opts.Auth != nil {
		if err := g.opts.Auth.Authenticate(r, body); err != nil {
			g.writeError(w, r, err)
			return
		}
	}

	target := r.Header.Get("X-Amz-Target")
	service, opName, _ := strings.Cut(target, ".")
	switch {
	case strings.HasPrefix(r.URL.Path, "/endpoints/"):
		name, rest, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/endpoints/"), "/")
		if !ok || r.Method != http.MethodPost || g.opts.Invoker == nil {
			g.writeError(w, r, awserr.New("UnknownOperationException", http.StatusNotFound, "No operation at %s %s.", r.Method, r.URL.Path))
			return
		}
		switch rest {
		case "invocations":
			g.opts.Invoker.ServeInvoke(w, r, name, body)
		default:
			g.writeError(w, r, awserr.New("UnknownOperationException", http.StatusNotFound,
				"Operation %s is not supported by this server; only InvokeEndpoint (/invocations) is.", rest))
		}
	case service == "SageMaker":
		g.serveJSON(w, r, body, "SageMaker", opName, g.sm, json11)
	case service == "AnyScaleFrontendService" && g.opts.AutoScaling != nil:
		g.serveJSON(w, r, body, "Application Auto Scaling", opName, g.opts.AutoScaling, json11)
	case service == "Logs_20140328" && g.opts.Logs != nil:
		g.serveJSON(w, r, body, "CloudWatch Logs", opName, g.opts.Logs, json11)
	case g.opts.CloudWatch != nil && g.opts.CloudWatchMatch != nil && g.opts.CloudWatchMatch(r):
		g.opts.CloudWatch.ServeHTTP(w, r)
	default:
		msg := "Unknown operation"
		if target != "" {
			msg = "Unknown operation " + target + " on this server"
		}
		g.writeError(w, r, awserr.New("UnknownOperationException", http.StatusBadRequest, "%s.", msg))
	}
}

// readBody reads the whole body (bounded) so that it can be signed over,
// then puts it back for handlers that read r.Body themselves.
func (g *Gateway) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= g.opts.MaxBody {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, g.opts.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, awserr.New("ValidationException", http.StatusRequestEntityTooLarge, "Request body exceeds the maximum of %d bytes.", g.opts.MaxBody)
		}
		return nil, awserr.New("SerializationException", http.StatusBadRequest, "Unable to read request body: %v", err)
	}
	body := buf.Bytes()
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// writeError renders err as an AWS JSON error (used before the API is
// known and for the JSON services).
func (g *Gateway) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ct := json11
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.0") {
		ct = "application/x-amz-json-1.0"
	}
	g.writeJSONError(w, r, ct, err)
}
