package sigv4

import (
	"strings"
	"time"
	"unicode"
)

// algorithm is the only signing algorithm accepted.
const algorithm = "AWS4-HMAC-SHA256"

// Formats of SigV4 timestamps.
const (
	amzDateFormat  = "20060102T150405Z"
	scopeDayFormat = "20060102"
)

// authorization is a parsed Authorization header.
type authorization struct {
	Algorithm     string
	Credential    string
	SignedHeaders string
	Signature     string
	// Which of the three parameters were present (possibly empty).
	HasCredential, HasSignedHeaders, HasSignature bool
}

// parseAuthorization splits an Authorization header value the way AWS does:
// the first word is the algorithm, the rest is a list of name=value pairs
// separated by commas and/or whitespace. A pair lacking '=' is an
// IncompleteSignatureException; unknown names are ignored and a repeated
// name keeps its last value. Whether the algorithm is supported and the
// parameters are all present is left to the caller.
func parseAuthorization(header string) (authorization, error) {
	var a authorization
	s := strings.TrimLeftFunc(header, unicode.IsSpace)
	end := strings.IndexFunc(s, unicode.IsSpace)
	if end < 0 {
		end = len(s)
	}
	a.Algorithm, s = s[:end], s[end:]
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	for _, f := range fields {
		name, value, ok := strings.Cut(f, "=")
		if !ok {
			return authorization{}, errIncomplete("'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", f, header)
		}
		switch name {
		case "Credential":
			a.Credential, a.HasCredential = value, true
		case "SignedHeaders":
			a.SignedHeaders, a.HasSignedHeaders = value, true
		case "Signature":
			a.Signature, a.HasSignature = value, true
		}
	}
	return a, nil
}

// scope is a parsed credential: AKID/YYYYMMDD/region/service/aws4_request.
type scope struct {
	AccessKeyID string
	Day         string
	Region      string
	Service     string
}

// String returns the credential scope as it appears in the string to sign.
func (s scope) String() string {
	return s.Day + "/" + s.Region + "/" + s.Service + "/aws4_request"
}

// parseScope parses a credential, checking what AWS checks before looking
// the key up: five elements, the aws4_request terminator and a region.
func parseScope(credential string) (scope, error) {
	parts := strings.Split(credential, "/")
	if len(parts) != 5 {
		return scope{}, errIncomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", credential)
	}
	if parts[4] != "aws4_request" {
		return scope{}, errInvalid("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. ", parts[4])
	}
	if parts[2] == "" {
		return scope{}, errInvalid("Credential should be scoped to a valid region. ")
	}
	return scope{AccessKeyID: parts[0], Day: parts[1], Region: parts[2], Service: parts[3]}, nil
}

// parseAmzDate parses an X-Amz-Date value (ISO 8601 basic format, UTC).
func parseAmzDate(v string) (time.Time, error) {
	t, err := time.Parse(amzDateFormat, v)
	if err != nil || len(v) != len(amzDateFormat) {
		return time.Time{}, errIncomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", v)
	}
	return t, nil
}

func formatAmzDate(t time.Time) string { return t.UTC().Format(amzDateFormat) }
