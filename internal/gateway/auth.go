package gateway

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"hearth/internal/awserr"
	"hearth/internal/sigv4"
)

// Authenticator checks a request's AWS signature in two steps, so that a
// request whose header does not authenticate it costs no more than its
// header: Begin judges what the header (or presigned query) says for the
// API whose signing name is service, and returns the check to run on the
// SHA-256 of the body once it has been read. Rejections are *awserr.Error.
type Authenticator interface {
	Begin(r *http.Request, service string) (finish func(payloadSHA256Hex string) error, err error)
}

// SigV4 returns an Authenticator accepting requests signed by v's keys for
// region.
func SigV4(v *sigv4.Verifier, region string) Authenticator {
	return sigv4Auth{v: v, region: region}
}

type sigv4Auth struct {
	v      *sigv4.Verifier
	region string
}

func (a sigv4Auth) Begin(r *http.Request, service string) (func(string) error, error) {
	p, err := a.v.Begin(r, sigv4.Scope{Region: a.region, Service: service})
	if err != nil {
		return nil, authError(err)
	}
	return func(sum string) error {
		if _, err := p.Finish(sum); err != nil {
			return authError(err)
		}
		return nil
	}, nil
}

func authError(err error) error {
	var se *sigv4.Error
	if errors.As(err, &se) {
		return &awserr.Error{Code: se.Code, Message: se.Message, Status: se.HTTPStatus(), Fault: "Sender"}
	}
	return &awserr.Error{Code: sigv4.CodeInvalidSignature, Message: err.Error(), Status: http.StatusForbidden, Fault: "Sender"}
}

// Signing names: the service a request's credential scope must name. An API
// told apart by its X-Amz-Target prefix is looked up in targetSigningNames;
// one told apart by its path, in pathSigningNames. A new API adds a line.
var (
	targetSigningNames = map[string]string{
		"SageMaker":                     "sagemaker",
		"AnyScaleFrontendService":       "application-autoscaling",
		"GraniteServiceVersion20100801": "monitoring",
		"Logs_20140328":                 "logs",
	}
	pathSigningNames = []struct{ prefix, name string }{
		{"/endpoints/", "sagemaker"}, // SageMaker Runtime signs as sagemaker
		{"/service/GraniteServiceVersion20100801/", "monitoring"},
	}
	// untargetedSigningName is the signing name of a request with neither:
	// CloudWatch's query protocol, the one API on this server whose
	// operation is named in a form body.
	untargetedSigningName = "monitoring"
	// metricsSigningName is what a SigV4-signed GET /metrics is scoped to.
	metricsSigningName = "monitoring"
)

// signingName returns the signing name of the API r is for, or "" when r
// names an X-Amz-Target of no API served here.
func signingName(r *http.Request, escapedPath string) string {
	for _, p := range pathSigningNames {
		if strings.HasPrefix(escapedPath, p.prefix) {
			return p.name
		}
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		prefix, _, _ := strings.Cut(target, ".")
		return targetSigningNames[prefix]
	}
	return untargetedSigningName
}

// bearerToken reports whether r carries "Authorization: Bearer token".
func bearerToken(r *http.Request, token string) bool {
	if token == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) == 1
}
