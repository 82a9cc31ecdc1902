// Package awserr is the error value every Hearth API returns to its clients:
// an AWS error code, a message and an HTTP status, rendered by the protocol
// codecs in the shape the AWS SDKs parse. It also builds the
// "N validation errors detected: …" messages the AWS services send.
package awserr

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is an error a client receives as an AWS error response.
type Error struct {
	Code    string // e.g. "ValidationException"
	Message string
	// Type is the error's shape id where the JSON and CBOR protocols name
	// it differently from Code, as awsQuery-compatible services do
	// (CloudWatch: Code InvalidParameterValue, Type
	// com.amazonaws.cloudwatch#InvalidParameterValueException). Empty
	// means Code.
	Type   string
	Status int // HTTP status; 0 means 400
	// Fault is "Sender" for client errors and "Receiver" for server errors,
	// as awsQuery-compatible services report it.
	Fault string
	// Fields are extra members of the error body (e.g. OriginalStatusCode).
	Fields map[string]any
	// Header holds extra response headers.
	Header http.Header
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// HTTPStatus returns the status the error is sent with.
func (e *Error) HTTPStatus() int {
	if e.Status == 0 {
		return http.StatusBadRequest
	}
	return e.Status
}

// TypeName is the __type of the error's JSON and CBOR bodies.
func (e *Error) TypeName() string {
	if e.Type != "" {
		return e.Type
	}
	return e.Code
}

// FaultName is "Sender" for client errors and "Receiver" for server ones.
func (e *Error) FaultName() string {
	if e.Fault != "" {
		return e.Fault
	}
	if e.HTTPStatus() >= 500 {
		return "Receiver"
	}
	return "Sender"
}

// QueryHeader is the X-Amzn-Query-Error value that tells awsQuery-compatible
// clients the error's awsQuery code.
func (e *Error) QueryHeader() string { return e.Code + ";" + e.FaultName() }

// New returns an error with the given code, status and formatted message.
func New(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// Validation returns a ValidationException (HTTP 400).
func Validation(format string, args ...any) *Error {
	return New("ValidationException", http.StatusBadRequest, format, args...)
}

// Internal returns an InternalFailure (HTTP 500) that hides err's detail
// from the client behind a fixed message; the caller logs err.
func Internal(code string) *Error {
	return &Error{Code: code, Status: http.StatusInternalServerError, Fault: "Receiver",
		Message: "We encountered an internal error. Please try again."}
}

// As extracts an *Error from err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Violations collects field-constraint failures and renders them the way
// AWS's Coral validation does:
//
//	2 validation errors detected: Value '1500' at 'productionVariants.1.member.serverlessConfig.memorySizeInMB'
//	failed to satisfy constraint: Member must have value less than or equal to 6144; Value …
type Violations struct {
	list []string
}

// Add records that value at path violates constraint. value is rendered with
// %v; a nil value renders as "null".
func (v *Violations) Add(value any, path, constraint string) {
	var s string
	switch x := value.(type) {
	case nil:
		v.list = append(v.list, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: %s", path, constraint))
		return
	case *string:
		if x == nil {
			v.list = append(v.list, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: %s", path, constraint))
			return
		}
		s = *x
	case *int32:
		if x == nil {
			v.list = append(v.list, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: %s", path, constraint))
			return
		}
		s = fmt.Sprint(*x)
	default:
		s = fmt.Sprint(value)
	}
	v.list = append(v.list, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", s, path, constraint))
}

// Len reports how many violations were recorded.
func (v *Violations) Len() int { return len(v.list) }

// Err returns nil when nothing was recorded, else a ValidationException
// listing every violation.
func (v *Violations) Err() error {
	if len(v.list) == 0 {
		return nil
	}
	noun := "error"
	if len(v.list) > 1 {
		noun = "errors"
	}
	return Validation("%d validation %s detected: %s", len(v.list), noun, strings.Join(v.list, "; "))
}
