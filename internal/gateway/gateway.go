package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"hearth/internal/awserr"
	"hearth/internal/control"
)

// Invoker serves SageMaker Runtime requests (POST /endpoints/{name}/…),
// read by net/http or by the invocation route's own server (http1).
type Invoker interface {
	ServeInvoke(ctx context.Context, w http.ResponseWriter, h Header, endpoint string, body []byte)
}

// Header is a request's header fields, as either server holds them:
// http.Header or *http1.Exchange.
type Header interface {
	// Get returns the first value of the named field, or "".
	Get(name string) string
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
	// Auth, when set, must accept every API request, and GET /metrics
	// unless it carries MetricsToken as a bearer token. Without Auth
	// (dev mode) every route is open.
	Auth Authenticator
	// MetricsToken, when set, lets GET /metrics in with
	// "Authorization: Bearer <MetricsToken>", as Prometheus scrapers send.
	MetricsToken string
	Logger       *slog.Logger
	// MaxBody bounds any request body (the invoke path enforces its own,
	// smaller, per-variant limits); default DefaultMaxBody.
	MaxBody int64
	// Health, if set, is asked by GET /healthz once the server is ready: a
	// non-nil error (a stuck lock or loop) answers 503 with its text.
	Health func() error
	// BodyGrace and BodyMinRate set the floor rate a body must arrive at;
	// defaults DefaultBodyGrace and DefaultBodyMinRate.
	BodyGrace   time.Duration
	BodyMinRate int64
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
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.BodyGrace <= 0 {
		opts.BodyGrace = DefaultBodyGrace
	}
	if opts.BodyMinRate <= 0 {
		opts.BodyMinRate = DefaultBodyMinRate
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Gateway{opts: opts, log: opts.Logger, sm: sageMakerOps(opts.Control), idBase: hex.EncodeToString(b[:])}
}

// SetReady marks the server ready (GET /healthz → 200).
func (g *Gateway) SetReady(ready bool) { g.ready.Store(ready) }

// requestID returns a new request id, shaped as a UUID (8-4-4-4-12 hex
// digits): the server's random base, then a sequence number.
func (g *Gateway) requestID() string {
	n := g.reqSeq.Add(1)
	var seq [8]byte
	for i := 7; i >= 0; i-- {
		seq[i] = byte(n)
		n >>= 8
	}
	var hexed [32]byte
	copy(hexed[:], g.idBase)
	hex.Encode(hexed[16:], seq[:])
	var id [36]byte
	copy(id[0:8], hexed[0:8])
	copy(id[9:13], hexed[8:12])
	copy(id[14:18], hexed[12:16])
	copy(id[19:23], hexed[16:20])
	copy(id[24:36], hexed[20:32])
	id[8], id[13], id[18], id[23] = '-', '-', '-', '-'
	return string(id[:])
}

const (
	json11 = "application/x-amz-json-1.1"
)

// ServeHTTP routes one request. With an Authenticator, the request's
// header is authenticated before any of its body is read, and the body is
// hashed as it arrives.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// net/http adds the Date header the SDKs use to correct clock skew.
	w.Header()["X-Amzn-Requestid"] = []string{g.requestID()}
	// The path is taken as it came on the wire and decoded once, where a
	// name is taken out of it.
	path := r.URL.EscapedPath()

	switch {
	case path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		if !g.ready.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		if g.opts.Health != nil {
			if err := g.opts.Health(); err != nil {
				http.Error(w, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = io.WriteString(w, "ok\n")
		return
	case path == "/metrics" && r.Method == http.MethodGet && g.opts.Metrics != nil:
		g.serveMetrics(w, r)
		return
	}

	var finish func(string) error
	if g.opts.Auth != nil {
		service := signingName(r, path)
		if service == "" {
			g.reject(w, r.Header, awserr.New("UnknownOperationException", http.StatusBadRequest, "Unknown operation: no API on this server has that X-Amz-Target."))
			return
		}
		f, err := g.opts.Auth.Begin(r, service)
		if err != nil {
			g.reject(w, r.Header, err)
			return
		}
		finish = f
	}
	body, sum, err := g.readBody(w, r)
	if err != nil {
		g.reject(w, r.Header, err)
		return
	}
	if finish != nil {
		if err := finish(sum); err != nil {
			g.reject(w, r.Header, err)
			return
		}
	}

	target := r.Header.Get("X-Amz-Target")
	service, opName, _ := strings.Cut(target, ".")
	switch {
	case strings.HasPrefix(path, "/endpoints/"):
		g.serveInvoke(r.Context(), w, r.Method, strings.TrimPrefix(path, "/endpoints/"), r.Header, body)
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
			msg = "Unknown operation " + truncate(target, 128) + " on this server"
		}
		g.writeError(w, r.Header, awserr.New("UnknownOperationException", http.StatusBadRequest, "%s.", msg))
	}
}

// maxEndpointName is SageMaker's limit on an endpoint name.
const maxEndpointName = 63

// serveInvoke serves POST /endpoints/{name}/{operation}; rest is the path
// after /endpoints/, still escaped.
func (g *Gateway) serveInvoke(ctx context.Context, w http.ResponseWriter, method, rest string, h Header, body []byte) {
	rawName, op, ok := strings.Cut(rest, "/")
	if !ok || method != http.MethodPost || g.opts.Invoker == nil {
		g.writeError(w, h, awserr.New("UnknownOperationException", http.StatusNotFound,
			"No operation for %s on this path; InvokeEndpoint is POST /endpoints/{EndpointName}/invocations.", method))
		return
	}
	if op != "invocations" {
		g.writeError(w, h, awserr.New("UnknownOperationException", http.StatusNotFound,
			"That operation is not supported by this server; only InvokeEndpoint (/invocations) is."))
		return
	}
	name, err := url.PathUnescape(rawName)
	switch {
	case err != nil:
		g.writeError(w, h, awserr.New("ValidationError", http.StatusBadRequest,
			"1 validation error detected: Value at 'endpointName' failed to satisfy constraint: Member must be a validly percent-encoded path segment"))
		return
	case len(name) > maxEndpointName:
		// The name is not echoed: it may be anything up to the header limit.
		g.writeError(w, h, awserr.New("ValidationError", http.StatusBadRequest,
			"1 validation error detected: Value at 'endpointName' failed to satisfy constraint: Member must have length less than or equal to %d", maxEndpointName))
		return
	case !validEndpointName(name):
		g.writeError(w, h, awserr.New("ValidationError", http.StatusBadRequest,
			"1 validation error detected: Value at 'endpointName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", endpointNamePattern))
		return
	}
	g.opts.Invoker.ServeInvoke(ctx, w, h, name, body)
}

// endpointNamePattern is the pattern of SageMaker endpoint names.
const endpointNamePattern = `^[a-zA-Z0-9](-*[a-zA-Z0-9])*`

// validEndpointName reports whether name matches endpointNamePattern:
// letters and digits, with hyphens between them.
func validEndpointName(name string) bool {
	if name == "" || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for i := range len(name) {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// serveMetrics serves GET /metrics: open in dev mode; with an
// Authenticator, to a request carrying the metrics bearer token or signed
// for the monitoring service.
func (g *Gateway) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if g.opts.Auth != nil && !bearerToken(r, g.opts.MetricsToken) {
		finish, err := g.opts.Auth.Begin(r, metricsSigningName)
		if err != nil {
			g.reject(w, r.Header, err)
			return
		}
		_, sum, err := g.readBody(w, r)
		if err == nil {
			err = finish(sum)
		}
		if err != nil {
			g.reject(w, r.Header, err)
			return
		}
	}
	g.opts.Metrics.ServeHTTP(w, r)
}

// reject answers a request that is not served, closing its connection so
// that an unread body is not drained.
func (g *Gateway) reject(w http.ResponseWriter, h Header, err error) {
	w.Header().Set("Connection", "close")
	g.writeError(w, h, err)
}

// truncate shortens s to at most n bytes for echoing in a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// writeError renders err as an AWS JSON error (used before the API is
// known and for the JSON services).
func (g *Gateway) writeError(w http.ResponseWriter, h Header, err error) {
	ct := json11
	if strings.HasPrefix(h.Get("Content-Type"), "application/x-amz-json-1.0") {
		ct = "application/x-amz-json-1.0"
	}
	g.writeJSONError(w, h, ct, err)
}
