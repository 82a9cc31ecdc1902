package sigv4

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Error codes of authentication failures, as AWS reports them.
const (
	// CodeMissingAuthenticationToken: the request carries neither an
	// Authorization header nor presigned query parameters.
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	// CodeIncompleteSignature: the signature is present but malformed.
	CodeIncompleteSignature = "IncompleteSignatureException"
	// CodeUnrecognizedClient: the access key (or its session token) is not
	// one of the configured credentials.
	CodeUnrecognizedClient = "UnrecognizedClientException"
	// CodeInvalidSignature: the signature does not match, is outside its
	// validity window, or its credential scope is wrong.
	CodeInvalidSignature = "InvalidSignatureException"
)

// Messages AWS sends with the codes above.
const (
	msgMissingToken      = "Missing Authentication Token"
	msgUnrecognized      = "The security token included in the request is invalid."
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgHostNotSigned = "'Host' must be a 'SignedHeader' in the AWS Authorization."
	msgQueryParams   = "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', " +
		"'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date'. Re-examine the query-string parameters."
)

// Error is an authentication failure, to be returned to the client as an AWS
// error response with this Code, Message and Status.
//
// Status is always 403 Forbidden (see newError).
type Error struct {
	Code    string
	Message string
	Status  int

	// CanonicalRequest and StringToSign are set when the signature does not
	// match: they are what the server computed, for diagnosing a client's
	// signer. They contain no secret, but belong in logs, not responses.
	CanonicalRequest string
	StringToSign     string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// HTTPStatus returns the HTTP status the error is sent with.
func (e *Error) HTTPStatus() int {
	if e.Status == 0 {
		return http.StatusBadRequest
	}
	return e.Status
}

// newError returns an authentication failure. Every one is sent with HTTP
// 403 Forbidden. (Some AWS JSON services have been seen answering 400 for
// InvalidSignature and UnrecognizedClient; clients key on the code, and a
// single status keeps every API on the one port consistent.)
func newError(code, message string) *Error {
	return &Error{Code: code, Message: message, Status: http.StatusForbidden}
}

func errMissingToken() *Error { return newError(CodeMissingAuthenticationToken, msgMissingToken) }

func errUnrecognized() *Error { return newError(CodeUnrecognizedClient, msgUnrecognized) }

func errIncomplete(format string, args ...any) *Error {
	return newError(CodeIncompleteSignature, fmt.Sprintf(format, args...))
}

func errInvalid(format string, args ...any) *Error {
	return newError(CodeInvalidSignature, fmt.Sprintf(format, args...))
}

// errExpired reports a signing time older than now-window, in AWS's words:
// "Signature expired: 20240101T000000Z is now earlier than 20240101T001501Z
// (20240101T003001Z - 15 min.)".
func errExpired(signed, now time.Time, window time.Duration) *Error {
	return errInvalid("Signature expired: %s is now earlier than %s (%s - %s.)",
		formatAmzDate(signed), formatAmzDate(now.Add(-window)), formatAmzDate(now), formatWindow(window))
}

// errNotYetCurrent reports a signing time later than now+window.
func errNotYetCurrent(signed, now time.Time, window time.Duration) *Error {
	return errInvalid("Signature not yet current: %s is still later than %s (%s + %s.)",
		formatAmzDate(signed), formatAmzDate(now.Add(window)), formatAmzDate(now), formatWindow(window))
}

// formatWindow renders a validity window the way AWS's messages do: in
// minutes ("15 min") when whole, else in seconds ("90 sec").
func formatWindow(d time.Duration) string {
	secs := int64(d / time.Second)
	if secs%60 == 0 {
		return fmt.Sprintf("%d min", secs/60)
	}
	return fmt.Sprintf("%d sec", secs)
}

// missingParamsMessage builds AWS's message for an Authorization header
// lacking parameters: one sentence per missing part, then the header itself.
func missingParamsMessage(missing []string, header string) string {
	var b strings.Builder
	for _, m := range missing {
		if m == "date" {
			b.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
			continue
		}
		b.WriteString("Authorization header requires '")
		b.WriteString(m)
		b.WriteString("' parameter. ")
	}
	b.WriteString("Authorization=")
	b.WriteString(header)
	return b.String()
}
