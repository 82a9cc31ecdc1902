// Package awsjson implements the server side of the AWS JSON 1.0/1.1
// protocols: decoding an operation's input, encoding its output, and writing
// errors in the shape both aws-sdk-go-v2 and botocore parse. It also carries
// Timestamp, the epoch-seconds time type those protocols use.
package awsjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"hearth/internal/awserr"
)

// Timestamp is a time sent as JSON epoch seconds with a fractional part, as
// the AWS JSON protocols require. It also decodes ISO-8601 strings, which
// some clients send.
type Timestamp struct{ time.Time }

// At wraps t.
func At(t time.Time) *Timestamp { return &Timestamp{t} }

// MarshalJSON writes epoch seconds with millisecond precision.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

// UnmarshalJSON accepts a number of epoch seconds or an RFC 3339 string.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
			if v, err := time.Parse(layout, s); err == nil {
				t.Time = v.UTC()
				return nil
			}
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return t.setEpoch(f)
		}
		return fmt.Errorf("invalid timestamp %q", s)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("invalid timestamp %s", b)
	}
	return t.setEpoch(f)
}

func (t *Timestamp) setEpoch(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
		return fmt.Errorf("timestamp %v out of range", f)
	}
	// A float64 of epoch seconds carries about microsecond precision; round
	// there, so 1716220800.123 is .123 and not .122999907.
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC()
	return nil
}

// MaxBody bounds a control-plane request body.
const MaxBody = 8 << 20

// Decode reads the request body into v. An empty body decodes as {}. Fields
// the operation does not know are ignored, as AWS services do; malformed
// JSON becomes a SerializationException.
func Decode(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return awserr.New("SerializationException", http.StatusRequestEntityTooLarge, "Request body exceeds %d bytes", MaxBody)
		}
		return awserr.New("SerializationException", http.StatusBadRequest, "Unable to read request body")
	}
	return DecodeBytes(body, v)
}

// DecodeBytes is Decode over a body already read.
func DecodeBytes(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if err := Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return awserr.New("SerializationException", http.StatusBadRequest,
				"Unexpected value type in payload for field %q: expected %s", te.Field, te.Type)
		}
		return awserr.New("SerializationException", http.StatusBadRequest, "Malformed JSON request body: %s", err.Error())
	}
	return nil
}

// Write sends v as a successful response with the given JSON content type
// ("application/x-amz-json-1.1" or "-1.0").
func Write(w http.ResponseWriter, contentType string, v any) {
	b, err := Marshal(v)
	if err != nil {
		WriteError(w, contentType, awserr.Internal("InternalFailure"))
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// WriteError sends e as {"__type": code, "message": …} with the
// X-Amzn-ErrorType header, which every AWS SDK reads.
func WriteError(w http.ResponseWriter, contentType string, e *awserr.Error) {
	body := map[string]any{"__type": e.TypeName(), "message": e.Message}
	for k, v := range e.Fields {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	h := w.Header()
	for k, vs := range e.Header {
		h[k] = vs
	}
	h.Set("Content-Type", contentType)
	h.Set("X-Amzn-ErrorType", e.Code)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.HTTPStatus())
	_, _ = w.Write(b)
}
