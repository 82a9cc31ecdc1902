package cloudwatch

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"

	"hearth/internal/awsjson"
	"hearth/internal/metrics"
)

const (
	apiVersion       = "2010-08-01"
	cborPathMarker   = "/service/GraniteServiceVersion20100801/operation/"
	jsonTargetPrefix = "GraniteServiceVersion20100801."
	signingName      = "monitoring"

	// DefaultMaxBodyBytes bounds a request body, before and after gzip
	// decompression. CloudWatch itself limits PutMetricData to 1 MB.
	DefaultMaxBodyBytes = 2 << 20
	// DefaultAccount is the account reported when Options.Account is empty.
	DefaultAccount = "000000000000"
)

// Options configure the handler. The zero value is usable.
type Options struct {
	// Logger receives one debug line per request and internal errors.
	// Nil means slog.Default().
	Logger *slog.Logger
	// Clock gives PutMetricData's default timestamp and the bounds on
	// timestamps (two weeks past, two hours ahead), and ListMetrics'
	// RecentlyActive window. Nil means the system clock.
	Clock metrics.Clock
	// Account is the account that owns every metric (ListMetrics
	// OwningAccount / IncludeLinkedAccounts). Empty means DefaultAccount.
	Account string
	// MaxBodyBytes bounds request bodies; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Alarms serves the metric alarm operations; nil refuses them.
	Alarms *Alarms
}

type protocol int

const (
	protoQuery protocol = iota
	protoJSON
	protoCBOR
)

func (p protocol) String() string {
	return [...]string{"awsQuery", "awsJson1_0", "rpcv2Cbor"}[p]
}

type handler struct {
	store   *metrics.Store
	log     *slog.Logger
	clock   metrics.Clock
	account string
	maxBody int64
	alarms  *Alarms
	dec     cbor.DecMode
	enc     cbor.EncMode
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// NewHandler returns the CloudWatch API (GetMetricStatistics,
// GetMetricData, ListMetrics, PutMetricData) over rpcv2Cbor, awsJson1.0
// and awsQuery, backed by store. It expects requests for which Match is
// true, already authenticated.
func NewHandler(store *metrics.Store, opts Options) http.Handler {
	h := &handler{
		store:   store,
		log:     opts.Logger,
		clock:   opts.Clock,
		account: opts.Account,
		maxBody: opts.MaxBodyBytes,
		alarms:  opts.Alarms,
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.clock == nil {
		h.clock = systemClock{}
	}
	if h.account == "" {
		h.account = DefaultAccount
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	var err error
	h.dec, err = cbor.DecOptions{
		MaxNestedLevels:  16,
		MaxArrayElements: 200000,
		MaxMapPairs:      200000,
	}.DecMode()
	if err != nil {
		panic(err) // constant options
	}
	h.enc, err = cbor.EncOptions{}.EncMode()
	if err != nil {
		panic(err) // constant options
	}
	return h
}

// Match reports whether r is a CloudWatch request, so that a gateway
// serving several AWS APIs on one port can route it to NewHandler's
// handler. It recognises, in this order:
//
//   - rpcv2Cbor: a path containing /service/GraniteServiceVersion20100801/operation/
//     (after any base path);
//   - awsJson1.0: X-Amz-Target beginning with GraniteServiceVersion20100801.;
//   - awsQuery: Action and Version=2010-08-01 in the URL query, or a
//     form-encoded body signed for the "monitoring" service (SigV4
//     credential scope in the Authorization header or X-Amz-Credential),
//     or, failing that, a form body whose first 4 KiB hold Version=2010-08-01.
//
// Match reads only the URL and headers, except in the last case: it then
// reads at most 4 KiB of the body and replaces r.Body with a reader that
// yields the same bytes, so the body can still be read in full afterwards
// (by SigV4 verification or the handler).
func Match(r *http.Request) bool {
	if strings.Contains(r.URL.Path, cborPathMarker) {
		return true
	}
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), jsonTargetPrefix) {
		return true
	}
	q := r.URL.Query()
	if q.Get("Version") == apiVersion && q.Get("Action") != "" {
		return true
	}
	if !isForm(r.Header.Get("Content-Type")) {
		return false
	}
	if credentialService(r) == signingName {
		return true
	}
	return peekFormVersion(r)
}

func isForm(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// credentialService extracts the service from a SigV4 credential scope
// (<key>/<date>/<region>/<service>/aws4_request).
func credentialService(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if auth := r.Header.Get("Authorization"); cred == "" && auth != "" {
		_, rest, ok := strings.Cut(auth, "Credential=")
		if !ok {
			return ""
		}
		cred, _, _ = strings.Cut(rest, ",")
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

const peekLimit = 4 << 10

type peekedBody struct {
	io.Reader
	io.Closer
}

func peekFormVersion(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return false
	}
	buf := make([]byte, peekLimit)
	n, err := io.ReadFull(r.Body, buf)
	buf = buf[:n]
	orig := r.Body
	var rest io.Reader = orig
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		rest = &errReader{err} // hand the read error to whoever reads next
	}
	r.Body = peekedBody{Reader: io.MultiReader(bytes.NewReader(buf), rest), Closer: orig}
	for pair := range strings.SplitSeq(string(buf), "&") {
		k, v, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(k); err != nil || k != "Version" {
			continue
		}
		if v, err := url.QueryUnescape(v); err == nil && v == apiVersion {
			return true
		}
	}
	return false
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", requestID)
	proto, op := protoQuery, ""
	switch {
	case strings.Contains(r.URL.Path, cborPathMarker):
		proto = protoCBOR
		_, op, _ = strings.Cut(r.URL.Path, cborPathMarker)
		op = strings.Trim(op, "/")
	case strings.HasPrefix(r.Header.Get("X-Amz-Target"), jsonTargetPrefix):
		proto = protoJSON
		op = strings.TrimPrefix(r.Header.Get("X-Amz-Target"), jsonTargetPrefix)
	}
	out, err := h.serve(r, w, proto, &op)
	log := h.log.With("protocol", proto.String(), "operation", op, "request_id", requestID)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			log.ErrorContext(r.Context(), "cloudwatch request failed", "err", err)
			ae = newError(errInternal, "An internal error occurred.")
		} else {
			log.DebugContext(r.Context(), "cloudwatch request rejected", "code", ae.Code, "message", ae.Message)
		}
		h.writeError(w, r, proto, ae, requestID)
		return
	}
	log.DebugContext(r.Context(), "cloudwatch request served")
	h.writeOutput(w, r, proto, op, out, requestID)
}

// serve decodes, runs and returns the output of one request.
func (h *handler) serve(r *http.Request, w http.ResponseWriter, proto protocol, op *string) (any, error) {
	if proto != protoQuery && r.Method != http.MethodPost {
		return nil, newError(errUnknownOperation, "%s requests must use POST.", proto)
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return nil, err
	}
	var decode func(any) error
	switch proto {
	case protoCBOR:
		decode = func(v any) error {
			if len(body) == 0 {
				return nil
			}
			if err := h.dec.Unmarshal(body, v); err != nil {
				return newError(errSerialization, "Cannot decode the CBOR request body: %v", err)
			}
			return nil
		}
	case protoJSON:
		decode = func(v any) error {
			if len(bytes.TrimSpace(body)) == 0 {
				return nil
			}
			if err := awsjson.Unmarshal(body, v); err != nil {
				return newError(errSerialization, "Cannot decode the JSON request body: %v", err)
			}
			return nil
		}
	case protoQuery:
		form := r.URL.Query()
		if len(body) > 0 {
			bf, err := url.ParseQuery(string(body))
			if err != nil {
				return nil, invalidValue("The request body is not a valid form: %v", err)
			}
			for k, v := range bf {
				form[k] = append(form[k], v...)
			}
		}
		*op = form.Get("Action")
		switch v, ok := form["Version"]; {
		case *op == "":
			return nil, missing("Action")
		case !ok:
			return nil, missing("Version")
		case v[0] != apiVersion:
			return nil, invalidValue("The value %s for parameter Version is invalid: the CloudWatch API version is %s.", truncate(v[0]), apiVersion)
		}
		decode = func(v any) error { return decodeQuery(form, v) }
	}
	ctx := r.Context()
	switch *op {
	case "GetMetricStatistics":
		return call(ctx, decode, h.getMetricStatistics)
	case "GetMetricData":
		return call(ctx, decode, h.getMetricData)
	case "ListMetrics":
		return call(ctx, decode, h.listMetrics)
	case "PutMetricData":
		return call(ctx, decode, h.putMetricData)
	}
	if a := h.alarms; a != nil {
		switch *op {
		case "PutMetricAlarm":
			return call(ctx, decode, a.putMetricAlarm)
		case "DescribeAlarms":
			return call(ctx, decode, a.describeAlarms)
		case "DescribeAlarmsForMetric":
			return call(ctx, decode, a.describeAlarmsForMetric)
		case "DeleteAlarms":
			return call(ctx, decode, a.deleteAlarms)
		case "SetAlarmState":
			return call(ctx, decode, a.setAlarmState)
		case "EnableAlarmActions":
			return call(ctx, decode, a.enableAlarmActions)
		case "DisableAlarmActions":
			return call(ctx, decode, a.disableAlarmActions)
		case "DescribeAlarmHistory":
			return call(ctx, decode, a.describeAlarmHistory)
		case "TagResource":
			return call(ctx, decode, a.tagResource)
		case "UntagResource":
			return call(ctx, decode, a.untagResource)
		case "ListTagsForResource":
			return call(ctx, decode, a.listTagsForResource)
		}
	}
	if proto == protoQuery {
		return nil, newError(errInvalidAction, "The action %s is not valid for this web service.", truncate(*op))
	}
	return nil, newError(errUnknownOperation, "The operation %s is not supported.", truncate(*op))
}

func call[I, O any](ctx context.Context, decode func(any) error, fn func(context.Context, *I) (*O, error)) (any, error) {
	in := new(I)
	if err := decode(in); err != nil {
		return nil, err
	}
	out, err := fn(ctx, in)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	tooLarge := newError(errTooLarge, "The request body exceeds %d bytes.", h.maxBody)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge
	}
	if err != nil {
		return nil, newError(errSerialization, "Cannot read the request body: %v", err)
	}
	if !strings.EqualFold(strings.TrimSpace(r.Header.Get("Content-Encoding")), "gzip") || len(body) == 0 {
		return body, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, newError(errSerialization, "Cannot decompress the gzip request body: %v", err)
	}
	plain, err := io.ReadAll(io.LimitReader(zr, h.maxBody+1))
	if err != nil {
		return nil, newError(errSerialization, "Cannot decompress the gzip request body: %v", err)
	}
	if int64(len(plain)) > h.maxBody {
		return nil, tooLarge
	}
	return plain, nil
}

func jsonContentType(r *http.Request) string {
	if strings.Contains(r.Header.Get("Content-Type"), "json-1.1") {
		return "application/x-amz-json-1.1"
	}
	return "application/x-amz-json-1.0"
}

func (h *handler) writeOutput(w http.ResponseWriter, r *http.Request, proto protocol, op string, out any, requestID string) {
	var body []byte
	var err error
	switch proto {
	case protoCBOR:
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.Header().Set("Content-Type", "application/cbor")
		body, err = h.enc.Marshal(out)
	case protoJSON:
		w.Header().Set("Content-Type", jsonContentType(r))
		body, err = awsjson.Marshal(out)
	case protoQuery:
		w.Header().Set("Content-Type", "text/xml")
		body = queryResponse(op, out, requestID)
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "cloudwatch: encode response", "err", err)
		h.writeError(w, r, proto, newError(errInternal, "An internal error occurred."), requestID)
		return
	}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

func (h *handler) writeError(w http.ResponseWriter, r *http.Request, proto protocol, e *apiError, requestID string) {
	var body []byte
	switch proto {
	case protoCBOR, protoJSON:
		fields := map[string]string{"__type": e.TypeName(), "message": e.Message}
		if e.Code == errInternal.code {
			fields["Message"] = e.Message // that shape's member is capitalised
		}
		w.Header().Set("X-Amzn-Query-Error", e.QueryHeader())
		if proto == protoCBOR {
			w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
			w.Header().Set("Content-Type", "application/cbor")
			body, _ = h.enc.Marshal(fields) // a map of strings always encodes
		} else {
			w.Header().Set("Content-Type", jsonContentType(r))
			body, _ = json.Marshal(fields)
		}
	case protoQuery:
		w.Header().Set("Content-Type", "text/xml")
		body = queryError(e, requestID)
	}
	w.WriteHeader(e.HTTPStatus())
	w.Write(body)
}
