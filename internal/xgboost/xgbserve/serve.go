package xgbserve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"hearth/internal/xgboost"
)

// Environment variables, as the SageMaker XGBoost container reads them.
const (
	EnvPort          = "SAGEMAKER_BIND_TO_PORT"
	EnvModelDir      = "SM_MODEL_DIR"
	EnvMaxContent    = "MAX_CONTENT_LENGTH"
	EnvDefaultAccept = "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"
	EnvOutput        = "SAGEMAKER_INFERENCE_OUTPUT"

	defaultPort       = "8080"
	defaultModelDir   = "/opt/ml/model"
	defaultMaxContent = 6 * 1024 * 1024
	maxContentCap     = 20 * 1024 * 1024 // the container never accepts more
)

const (
	acceptCSV       = "text/csv"
	acceptJSON      = "application/json"
	acceptJSONLines = "application/jsonlines"
)

// config is what the handler reads from the environment.
type config struct {
	maxContent    int64
	defaultAccept string
	output        string // SAGEMAKER_INFERENCE_OUTPUT; empty when unset
}

// loadConfig reads the environment. A MAX_CONTENT_LENGTH that is not an
// integer is an error (the container fails to start on one).
func loadConfig(getenv func(string) string) (config, error) {
	c := config{maxContent: defaultMaxContent, defaultAccept: acceptCSV, output: getenv(EnvOutput)}
	if v := getenv(EnvMaxContent); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return c, fmt.Errorf("%s=%q: not an integer", EnvMaxContent, v)
		}
		c.maxContent = n
	}
	c.maxContent = min(c.maxContent, maxContentCap)
	if v := getenv(EnvDefaultAccept); v != "" {
		c.defaultAccept = v
	}
	return c, nil
}

// NewHandler returns the HTTP handler serving m, configured from getenv
// (SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, SAGEMAKER_INFERENCE_OUTPUT,
// MAX_CONTENT_LENGTH; an unusable MAX_CONTENT_LENGTH falls back to the
// default, where Main refuses to start).
func NewHandler(m *xgboost.Model, getenv func(string) string) http.Handler {
	cfg, err := loadConfig(getenv)
	if err != nil {
		cfg.maxContent = defaultMaxContent
	}
	return newHandler(m, cfg, slog.New(slog.DiscardHandler))
}

type handler struct {
	model    *xgboost.Model
	cfg      config
	selector *selector // nil unless SAGEMAKER_INFERENCE_OUTPUT is set
	selErr   error     // why selectable output cannot be given for this model
	logger   *slog.Logger
	scratch  sync.Pool // *scratch
}

// scratch holds the buffers of one request, reused across requests.
type scratch struct {
	body   []byte
	values []float32
	row    []float32
	seen   []int32
	preds  []float32
	out    []byte
	sparse sparse
}

func newHandler(m *xgboost.Model, cfg config, logger *slog.Logger) *handler {
	h := &handler{model: m, cfg: cfg, logger: logger}
	h.scratch.New = func() any { return new(scratch) }
	if cfg.output != "" {
		h.selector, h.selErr = newSelector(cfg.output, m.Objective(), m.NumClass())
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/ping":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET, HEAD")
			return
		}
		w.WriteHeader(http.StatusOK)
	case "/invocations":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		h.invocations(w, r)
	case "/execution-parameters":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, "GET")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"MaxConcurrentTransforms": %d, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": %d}`,
			runtime.NumCPU(), h.cfg.maxContent/(1024*1024))
	default:
		http.NotFound(w, r)
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}

// reply writes a plain-text error answer, as the container's Flask responses
// are.
func reply(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", textType)
	w.WriteHeader(status)
	io.WriteString(w, msg)
}

func (h *handler) invocations(w http.ResponseWriter, r *http.Request) {
	s := h.scratch.Get().(*scratch)
	defer h.scratch.Put(s)

	if r.ContentLength > h.cfg.maxContent {
		reply(w, http.StatusRequestEntityTooLarge, tooLarge(h.cfg.maxContent))
		return
	}
	body, err := readBody(s.body[:0], http.MaxBytesReader(w, r.Body, h.cfg.maxContent))
	s.body = body
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			reply(w, http.StatusRequestEntityTooLarge, tooLarge(h.cfg.maxContent))
			return
		}
		reply(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		return
	}
	ct, present := "", false
	if values := r.Header["Content-Type"]; len(values) > 0 {
		ct, present = values[0], true
	}
	status, typ, out := h.invoke(s, ct, present, r.Header.Get("Accept"), body)
	if typ != "" {
		w.Header().Set("Content-Type", typ)
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(status)
	w.Write(out)
}

// textType labels the container's plain-text answers, as Flask does.
const textType = "text/html; charset=utf-8"

// invoke scores one /invocations body: it returns the status, the
// Content-Type and the body of the answer. The body may be s.out, valid
// until s is reused.
func (h *handler) invoke(s *scratch, contentType string, hasContentType bool, accept string, body []byte) (int, string, []byte) {
	if int64(len(body)) > h.cfg.maxContent {
		return http.StatusRequestEntityTooLarge, textType, []byte(tooLarge(h.cfg.maxContent))
	}
	if len(body) == 0 {
		return http.StatusNoContent, "", nil
	}
	kind, msg := contentKind(contentType, hasContentType)
	if msg != "" {
		return http.StatusUnsupportedMediaType, textType, []byte(msg)
	}
	width := h.model.NumOutputs()
	var status int
	switch kind {
	case "csv":
		status, msg = h.predictCSV(s, string(body))
	default:
		status, msg = h.predictLibSVM(s, string(body))
	}
	if status != http.StatusOK {
		h.logger.Debug("invocation refused", "status", status, "error", msg)
		return status, textType, []byte(msg)
	}

	typ, ok := h.accept(accept)
	if !ok {
		return http.StatusNotAcceptable, textType, []byte(fmt.Sprintf(
			"Accept type %s is not supported. Please use supported accept types: ['%s', '%s', '%s'].",
			typ, acceptJSON, acceptJSONLines, acceptCSV))
	}
	out := s.out[:0]
	switch {
	case h.cfg.output != "":
		if h.selErr != nil {
			return http.StatusInternalServerError, textType, []byte(h.selErr.Error())
		}
		out = h.selector.appendSelected(out, s.preds, width, typ)
	case typ == acceptJSON:
		out = appendJSON(out, s.preds, width)
	case typ == acceptJSONLines:
		out = appendJSONLines(out, s.preds, width)
	default:
		out = appendCSV(out, s.preds, width)
	}
	s.out = out
	if typ == acceptCSV {
		typ = "text/csv; charset=utf-8" // as Flask labels text types
	}
	return http.StatusOK, typ, out
}

// Predictor answers /invocations requests for one loaded model without
// HTTP: the same answers, statuses and configuration as the handler, for a
// server that runs the model in its own process. It is safe for concurrent
// use.
type Predictor struct{ h *handler }

// NewPredictor returns the Predictor of m, configured from getenv as Main
// is (an unusable MAX_CONTENT_LENGTH is an error).
func NewPredictor(m *xgboost.Model, getenv func(string) string) (*Predictor, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, err
	}
	return &Predictor{h: newHandler(m, cfg, slog.New(slog.DiscardHandler))}, nil
}

// Predict answers one request: hasContentType false is a request with no
// Content-Type header (read as libsvm). It returns the HTTP status, the
// answer's Content-Type (empty for 204) and its body, appended to dst.
func (p *Predictor) Predict(dst []byte, contentType string, hasContentType bool, accept string, body []byte) (int, string, []byte) {
	s := p.h.scratch.Get().(*scratch)
	defer p.h.scratch.Put(s)
	status, typ, out := p.h.invoke(s, contentType, hasContentType, accept, body)
	return status, typ, append(dst, out...)
}

func tooLarge(limit int64) string {
	return fmt.Sprintf("Request Entity Too Large: the payload exceeds MAX_CONTENT_LENGTH (%d bytes)", limit)
}

// readBody reads all of r, reusing buf.
func readBody(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// contentKind classifies the request's Content-Type as the container's
// get_content_type does: "csv" or "libsvm", or a 415 message.
func contentKind(raw string, present bool) (string, string) {
	if !present {
		return "libsvm", "" // no Content-Type: the container reads libsvm
	}
	typ, params := mediaType(raw)
	switch typ {
	case "csv", "text/csv":
		if ls, ok := params["label_size"]; ok && ls != "1" {
			return "", fmt.Sprintf("%s is not an accepted csv ContentType. Optional parameter label_size must be equal to 1", raw)
		}
		return "csv", ""
	case "libsvm", "text/libsvm", "text/x-libsvm":
		return "libsvm", ""
	case "recordio-protobuf", "application/x-recordio-protobuf", "parquet", "application/x-parquet":
		return "", fmt.Sprintf("Content-type %s is not supported.", raw)
	}
	return "", fmt.Sprintf("%s is not an accepted ContentType: csv, libsvm, parquet, recordio-protobuf, text/csv, "+
		"text/libsvm, text/x-libsvm, application/x-parquet, application/x-recordio-protobuf.", raw)
}

// accept resolves the Accept header: empty or */* means the configured
// default. It returns the type and whether it is supported.
func (h *handler) accept(header string) (string, bool) {
	typ, _ := mediaType(header)
	if typ == "" || typ == "*/*" {
		typ, _ = mediaType(h.cfg.defaultAccept)
	}
	switch typ {
	case acceptCSV, acceptJSON, acceptJSONLines:
		return typ, true
	}
	return typ, false
}

// evalError is the container's 400 answer.
func evalError(msg string) (int, string) {
	return http.StatusBadRequest, "Unable to evaluate payload provided: " + msg
}

func (h *handler) predictCSV(s *scratch, body string) (int, string) {
	m, err := parseCSV(body, s.values)
	s.values = m.values
	if err != nil {
		// The container answers 415 here; Hearth answers 400, the status
		// of every other payload it cannot evaluate, so that a caller sees
		// a client error from the model (README).
		return evalError(err.Error())
	}
	nf := h.model.NumFeatures()
	// The container checks a pickled model's feature names against the
	// columns (one fewer is allowed); XGBoost itself refuses more columns
	// than features.
	if m.ncol > nf || (h.model.Pickled() && m.ncol != nf && m.ncol+1 != nf) {
		return evalError(fmt.Sprintf("Feature size of csv inference data %d is not consistent with feature size of trained model %d.", m.ncol, nf))
	}
	s.preds, err = h.model.AppendPredict(s.preds[:0], m.values, m.nrow, false)
	if err != nil {
		return evalError(err.Error())
	}
	return http.StatusOK, ""
}

func (h *handler) predictLibSVM(s *scratch, body string) (int, string) {
	sp := &s.sparse
	if err := parseLibSVM(body, sp); err != nil {
		return evalError(err.Error())
	}
	nf := h.model.NumFeatures()
	if sp.ncol > nf {
		return evalError(fmt.Sprintf("Feature size of libsvm inference data %d is larger than feature size of trained model %d.", sp.ncol, nf))
	}
	// One row at a time: blank lines cost a row each but no input, so a
	// dense matrix could be far larger than the payload.
	if cap(s.row) < sp.ncol {
		s.row = make([]float32, sp.ncol)
		s.seen = make([]int32, sp.ncol)
	}
	row, seen := s.row[:sp.ncol], s.seen[:sp.ncol]
	for i := range seen {
		seen[i] = -1
	}
	preds := s.preds[:0]
	e := 0
	var err error
	for r := range sp.nrow {
		for i := range row {
			row[i] = float32(math.NaN())
		}
		for ; e < len(sp.rows) && int(sp.rows[e]) == r; e++ {
			c := sp.cols[e]
			if seen[c] == int32(r) {
				row[c] += sp.vals[e] // scipy adds up repeated entries
			} else {
				row[c], seen[c] = sp.vals[e], int32(r)
			}
		}
		if preds, err = h.model.AppendPredict(preds, row, 1, false); err != nil {
			return evalError(err.Error())
		}
	}
	s.preds = preds
	return http.StatusOK, ""
}

// Main runs the worker behind `hearth worker xgboost`: it loads the model in
// SM_MODEL_DIR (default /opt/ml/model), then serves it on
// 127.0.0.1:SAGEMAKER_BIND_TO_PORT (default 8080) until ctx is done, and
// shuts down gracefully. The model is loaded before the port opens, so the
// first /ping already answers 200.
func Main(ctx context.Context, getenv func(string) string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	port := getenv(EnvPort)
	if port == "" {
		port = defaultPort
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return fmt.Errorf("%s=%q: not a port number", EnvPort, port)
	}
	dir := getenv(EnvModelDir)
	if dir == "" {
		dir = defaultModelDir
	}
	model, err := xgboost.LoadDir(dir)
	if err != nil {
		return fmt.Errorf("unable to load model: %w", err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return err
	}
	logger.Info("xgboost worker serving", "addr", ln.Addr().String(), "objective", model.Objective(),
		"booster", model.Booster(), "features", model.NumFeatures(), "format", model.Format().String(),
		"pickled", model.Pickled())
	return serve(ctx, ln, newHandler(model, cfg, logger), logger)
}

// shutdownGrace is how long in-flight requests get once ctx is done; the
// platform kills a worker 30 s after asking it to stop.
const shutdownGrace = 25 * time.Second

func serve(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       65 * time.Second, // past the platform's 60 s keep-alive
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("xgboost worker stopped")
	return nil
}
