// Package awsjson implements the server side of the AWS JSON 1.0/1.1
// protocols: decoding an operation's input, encoding its output, and writing
// errors in the shape both aws-sdk-go-v2 and botocore parse. It also carries
// Timestamp, the epoch-seconds time type those protocols use.
package awsjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"hearth/internal/awsapi"
	"hearth/internal/awserr"
)

// Timestamp is a time sent as JSON epoch seconds, the shared codec of
// every Hearth protocol.
type Timestamp = awsapi.Timestamp

// At wraps t.
func At(t time.Time) *Timestamp { return awsapi.At(t) }

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
