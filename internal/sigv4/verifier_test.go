package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/logging"
	"github.com/google/go-cmp/cmp"
)

// fixedClock is a Clock stopped at one instant.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// signTime is when the test requests are signed.
func signTime() time.Time { return time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC) }

const (
	testKeyID    = "AKIDEXAMPLE"
	testSecret   = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	tempKeyID    = "ASIATEMPEXAMPLE"
	tempSecret   = "tempSecretKeyExample"
	tempToken    = "FwoGZXIvYXdzEXAMPLETOKEN//+=="
	otherKeyID   = "AKIDOTHER"
	otherSecret  = "otherSecretKey"
	testEndpoint = "http://localhost:8080"
)

func testCredentials() map[string]Credential {
	return map[string]Credential{
		"default": {AccessKeyID: testKeyID, SecretAccessKey: testSecret},
		"temp":    {AccessKeyID: tempKeyID, SecretAccessKey: tempSecret, SessionToken: tempToken},
		"other":   {AccessKeyID: otherKeyID, SecretAccessKey: otherSecret},
	}
}

// testScope is the scope the test requests are signed for by default.
var testScope = Scope{Region: "us-east-1", Service: "sagemaker"}

func newTestVerifier(t testing.TB, now time.Time) *Verifier {
	t.Helper()
	v, err := NewVerifier(testCredentials(), fixedClock(now))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func hashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// clientRequest describes a request as a client would sign it.
type clientRequest struct {
	method  string
	target  string // path and query, escaped, appended to the endpoint
	url     string // full URL, overriding testEndpoint+target
	body    []byte
	header  http.Header
	keyID   string // default testKeyID
	secret  string // default testSecret
	token   string
	region  string // default us-east-1
	service string // default sagemaker
	at      time.Time
	// payloadHash is what the client signs for the body; default its SHA-256.
	payloadHash string
	presign     bool
}

func (c clientRequest) withDefaults() clientRequest {
	if c.method == "" {
		c.method = http.MethodPost
	}
	if c.url == "" {
		c.url = testEndpoint + c.target
	}
	if c.keyID == "" {
		c.keyID, c.secret = testKeyID, testSecret
	}
	if c.region == "" {
		c.region = "us-east-1"
	}
	if c.service == "" {
		c.service = "sagemaker"
	}
	if c.at.IsZero() {
		c.at = signTime()
	}
	if c.payloadHash == "" {
		c.payloadHash = hashHex(c.body)
	}
	return c
}

// sign signs c with aws-sdk-go-v2's signer and returns the request as a
// server receives it (written to the wire and parsed back), its body, and
// the canonical request the signer built.
func sign(t testing.TB, c clientRequest) (*http.Request, []byte, string) {
	t.Helper()
	c = c.withDefaults()
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, c.url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range c.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	var logged string
	logOpt := func(o *v4.SignerOptions) {
		o.LogSigning = true
		o.Logger = logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) {
			logged = fmt.Sprintf(format, v...)
		})
	}
	creds := aws.Credentials{AccessKeyID: c.keyID, SecretAccessKey: c.secret, SessionToken: c.token}
	signer := v4.NewSigner()
	if c.presign {
		signedURL, hdr, err := signer.PresignHTTP(context.Background(), creds, req, c.payloadHash, c.service, c.region, c.at, logOpt)
		if err != nil {
			t.Fatal(err)
		}
		req, err = http.NewRequest(c.method, signedURL, body)
		if err != nil {
			t.Fatal(err)
		}
		for k, vs := range hdr {
			if k != "Host" {
				req.Header[k] = vs
			}
		}
		if c.body != nil {
			req.Body = io.NopCloser(bytes.NewReader(c.body))
			req.ContentLength = int64(len(c.body))
		}
	} else if err := signer.SignHTTP(context.Background(), creds, req, c.payloadHash, c.service, c.region, c.at, logOpt); err != nil {
		t.Fatal(err)
	}
	canonical := between(logged, "---[ CANONICAL STRING  ]-----------------------------\n", "\n---[ STRING TO SIGN ]")
	server, got := toServer(t, req)
	return server, got, canonical
}

func between(s, start, end string) string {
	_, s, _ = strings.Cut(s, start)
	s, _, _ = strings.Cut(s, end)
	return s
}

// toServer writes req in HTTP/1.1 wire format and parses it back the way
// net/http's server does, returning the parsed request and its body.
func toServer(t testing.TB, req *http.Request) (*http.Request, []byte) {
	t.Helper()
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatal(err)
	}
	r, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return r, body
}

func TestVerifyAcceptsSDKSignedRequests(t *testing.T) {
	jsonBody := []byte(`{"MaxResults":10}`)
	csvBody := []byte("1,2,3\n4,5,6\n")
	tests := []struct {
		name string
		req  clientRequest
		now  time.Time // default signTime()
		want Identity  // SigningTime defaults to signTime(); Profile/AccessKeyID to default's
	}{
		{
			name: "awsJson POST to / with a JSON body",
			req: clientRequest{target: "/", body: jsonBody, header: http.Header{
				"Content-Type": {"application/x-amz-json-1.1"},
				"X-Amz-Target": {"SageMaker.ListModels"},
			}},
			want: Identity{Region: "us-east-1", Service: "sagemaker"},
		},
		{
			name: "invocations path with an escaped space in the label",
			req:  clientRequest{target: "/endpoints/my%20ep/invocations", body: csvBody, header: http.Header{"Content-Type": {"text/csv"}}},
			want: Identity{Region: "us-east-1", Service: "sagemaker"},
		},
		{
			name: "label with escaped slash and colon",
			req:  clientRequest{target: "/endpoints/a%2Fb%3Ac/invocations", body: csvBody},
			want: Identity{Region: "us-east-1", Service: "sagemaker"},
		},
		{
			name: "label with escaped UTF-8 and reserved characters",
			req:  clientRequest{target: "/endpoints/%E2%9C%93+(x)!$&'*,;=@/invocations", body: csvBody},
			want: Identity{Region: "us-east-1", Service: "sagemaker"},
		},
		{
			name: "GET /healthz without a body",
			req:  clientRequest{method: http.MethodGet, target: "/healthz"},
			want: Identity{Region: "us-east-1", Service: "sagemaker"},
		},
		{
			name: "query with repeated keys, empty values and special characters",
			req: clientRequest{method: http.MethodGet,
				target: "/metrics?b=2&a=1&a=0&c=x%20y&d=a%2Fb&e=%E2%9C%93&f=&g&h=%2B+plus&i=~!*'()&A=upper&j=a%3Db%26c"},
			want: Identity{Region: "us-east-1", Service: "sagemaker"},
		},
		{
			name: "repeated headers and runs of spaces in values",
			req: clientRequest{target: "/", body: jsonBody, header: http.Header{
				"X-Custom":     {"first", "  second   value  "},
				"X-Amz-Target": {"SageMaker.ListModels"},
				"X-Spaced":     {"a    b c"},
			}},
			want: Identity{Region: "us-east-1", Service: "sagemaker"},
		},
		{
			name: "other region and service are reported as sent",
			req: clientRequest{target: "/", body: jsonBody, region: "eu-west-1", service: "application-autoscaling",
				header: http.Header{"X-Amz-Target": {"AnyScaleFrontendService.DescribeScalableTargets"}}},
			want: Identity{Region: "eu-west-1", Service: "application-autoscaling"},
		},
		{
			name: "default HTTP port is left out of the signed host",
			req:  clientRequest{url: "http://example.com:80/", body: jsonBody},
			want: Identity{Region: "us-east-1", Service: "sagemaker"},
		},
		{
			name: "session credentials with their token",
			req:  clientRequest{target: "/", body: jsonBody, keyID: tempKeyID, secret: tempSecret, token: tempToken},
			want: Identity{Profile: "temp", AccessKeyID: tempKeyID, Region: "us-east-1", Service: "sagemaker"},
		},
		{
			name: "X-Amz-Content-Sha256 carrying the body hash",
			req:  clientRequest{target: "/", body: jsonBody, header: http.Header{"X-Amz-Content-Sha256": {hashHex(jsonBody)}}},
			want: Identity{Region: "us-east-1", Service: "sagemaker"},
		},
		{
			name: "monitoring rpcv2Cbor path",
			req: clientRequest{target: "/service/GraniteServiceVersion20100801/operation/GetMetricData", body: []byte{0xbf, 0xff},
				service: "monitoring", header: http.Header{"Smithy-Protocol": {"rpc-v2-cbor"}, "Content-Type": {"application/cbor"}}},
			want: Identity{Region: "us-east-1", Service: "monitoring"},
		},
		{
			name: "signed 15 minutes before now",
			req:  clientRequest{target: "/", body: jsonBody},
			now:  signTime().Add(MaxSkew),
			want: Identity{Region: "us-east-1", Service: "sagemaker"},
		},
		{
			name: "signed 15 minutes after now",
			req:  clientRequest{target: "/", body: jsonBody},
			now:  signTime().Add(-MaxSkew),
			want: Identity{Region: "us-east-1", Service: "sagemaker"},
		},
		{
			name: "presigned GET within X-Amz-Expires",
			req:  clientRequest{method: http.MethodGet, target: "/healthz?X-Amz-Expires=3600&x=1", presign: true},
			now:  signTime().Add(59 * time.Minute),
			want: Identity{Region: "us-east-1", Service: "sagemaker", Presigned: true},
		},
		{
			name: "presigned POST with a signed body and header",
			req: clientRequest{target: "/endpoints/my%20ep/invocations?X-Amz-Expires=60", body: csvBody, presign: true,
				header: http.Header{"Content-Type": {"text/csv"}}},
			now:  signTime().Add(time.Minute),
			want: Identity{Region: "us-east-1", Service: "sagemaker", Presigned: true},
		},
		{
			name: "presigned without X-Amz-Expires keeps the 15-minute window",
			req:  clientRequest{method: http.MethodGet, target: "/healthz", presign: true},
			now:  signTime().Add(MaxSkew),
			want: Identity{Region: "us-east-1", Service: "sagemaker", Presigned: true},
		},
		{
			name: "presigned session credentials",
			req:  clientRequest{method: http.MethodGet, target: "/healthz", presign: true, keyID: tempKeyID, secret: tempSecret, token: tempToken},
			want: Identity{Profile: "temp", AccessKeyID: tempKeyID, Region: "us-east-1", Service: "sagemaker", Presigned: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = signTime()
			}
			r, body, sdkCanonical := sign(t, tt.req)
			want := tt.want
			if want.Profile == "" {
				want.Profile, want.AccessKeyID = "default", testKeyID
			}
			want.SigningTime = signTime()

			scope := Scope{Region: tt.want.Region, Service: tt.want.Service}
			got, err := newTestVerifier(t, now).Verify(r, body, scope)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}

			// With the wrong secret the verifier reports the canonical
			// request it built: it must be the SDK's, byte for byte.
			creds := testCredentials()
			creds[want.Profile] = Credential{AccessKeyID: want.AccessKeyID, SecretAccessKey: "wrong", SessionToken: creds[want.Profile].SessionToken}
			wrong, err := NewVerifier(creds, fixedClock(now))
			if err != nil {
				t.Fatal(err)
			}
			_, err = wrong.Verify(r, body, scope)
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidSignature {
				t.Fatalf("Verify with wrong secret: err = %v, want %s", err, CodeInvalidSignature)
			}
			if sdkCanonical == "" {
				t.Fatal("signer logged no canonical request")
			}
			gotCanonical := e.CanonicalRequest
			if diff := cmp.Diff(sdkCanonical, gotCanonical); diff != "" {
				t.Errorf("canonical request (-sdk +verifier):\n%s", diff)
			}
		})
	}
}

func TestVerifyHashMatchesVerify(t *testing.T) {
	body := []byte(`{"EndpointName":"e"}`)
	r, _, _ := sign(t, clientRequest{target: "/", body: body})
	v := newTestVerifier(t, signTime())
	if _, err := v.VerifyHash(r, strings.ToUpper(hashHex(body)), testScope); err != nil {
		t.Errorf("VerifyHash with the body's hash: %v", err)
	}
	_, err := v.VerifyHash(r, hashHex([]byte("other")), testScope)
	if e := asError(t, err); e.Code != CodeInvalidSignature {
		t.Errorf("VerifyHash with another hash: code %s, want %s", e.Code, CodeInvalidSignature)
	}
	for _, bad := range []string{"", "abc", strings.Repeat("g", 64)} {
		_, err := v.VerifyHash(r, bad, testScope)
		var e *Error
		if err == nil || errors.As(err, &e) {
			t.Errorf("VerifyHash(%q) = %v, want a plain error", bad, err)
		}
	}
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	return e
}

const mismatch = "The request signature we calculated does not match the signature you provided. " +
	"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

func TestVerifyRejectsAlteredOrForeignRequests(t *testing.T) {
	jsonBody := []byte(`{"EndpointName":"prod"}`)
	base := clientRequest{target: "/endpoints/prod/invocations?a=1", body: jsonBody, header: http.Header{
		"Content-Type": {"application/json"}, "X-Amz-Target": {"SageMaker.DescribeEndpoint"},
	}}
	tests := []struct {
		name    string
		req     clientRequest
		now     time.Time
		alter   func(r *http.Request, body []byte) []byte // changes the received request; returns the body
		code    string
		message string
		status  int
	}{
		{
			name:  "body changed",
			req:   base,
			alter: func(_ *http.Request, _ []byte) []byte { return []byte(`{"EndpointName":"dev"}`) },
			code:  CodeInvalidSignature, message: mismatch, status: 403,
		},
		{
			name: "signed header changed",
			req:  base,
			alter: func(r *http.Request, b []byte) []byte {
				r.Header.Set("X-Amz-Target", "SageMaker.DeleteEndpoint")
				return b
			},
			code: CodeInvalidSignature, message: mismatch, status: 403,
		},
		{
			name: "path changed",
			req:  base,
			alter: func(r *http.Request, b []byte) []byte {
				r.RequestURI = strings.Replace(r.RequestURI, "prod", "dev", 1)
				return b
			},
			code: CodeInvalidSignature, message: mismatch, status: 403,
		},
		{
			name: "query value changed",
			req:  base,
			alter: func(r *http.Request, b []byte) []byte {
				r.RequestURI = strings.Replace(r.RequestURI, "a=1", "a=2", 1)
				return b
			},
			code: CodeInvalidSignature, message: mismatch, status: 403,
		},
		{
			name:  "query parameter added",
			req:   base,
			alter: func(r *http.Request, b []byte) []byte { r.RequestURI += "&b=1"; return b },
			code:  CodeInvalidSignature, message: mismatch, status: 403,
		},
		{
			name:  "method changed",
			req:   base,
			alter: func(r *http.Request, b []byte) []byte { r.Method = http.MethodPut; return b },
			code:  CodeInvalidSignature, message: mismatch, status: 403,
		},
		{
			name:  "host changed",
			req:   base,
			alter: func(r *http.Request, b []byte) []byte { r.Host = "evil.example:8080"; return b },
			code:  CodeInvalidSignature, message: mismatch, status: 403,
		},
		{
			name: "wrong secret",
			req:  clientRequest{target: "/", body: jsonBody, secret: "not-the-secret", keyID: testKeyID},
			code: CodeInvalidSignature, message: mismatch, status: 403,
		},
		{
			name: "unknown access key",
			req:  clientRequest{target: "/", body: jsonBody, keyID: "AKIDUNKNOWN", secret: testSecret},
			code: CodeUnrecognizedClient, message: "The security token included in the request is invalid.", status: 403,
		},
		{
			name: "session credentials without their token",
			req:  clientRequest{target: "/", body: jsonBody, keyID: tempKeyID, secret: tempSecret},
			code: CodeUnrecognizedClient, message: "The security token included in the request is invalid.", status: 403,
		},
		{
			name: "session credentials with another token",
			req:  clientRequest{target: "/", body: jsonBody, keyID: tempKeyID, secret: tempSecret, token: "stolen"},
			code: CodeUnrecognizedClient, message: "The security token included in the request is invalid.", status: 403,
		},
		{
			name: "signed a second more than 15 minutes ago",
			req:  clientRequest{target: "/", body: jsonBody},
			now:  signTime().Add(MaxSkew + time.Second),
			code: CodeInvalidSignature, status: 403,
			message: "Signature expired: 20240101T120000Z is now earlier than 20240101T120001Z (20240101T121501Z - 15 min.)",
		},
		{
			name: "signed a second more than 15 minutes ahead",
			req:  clientRequest{target: "/", body: jsonBody},
			now:  signTime().Add(-MaxSkew - time.Second),
			code: CodeInvalidSignature, status: 403,
			message: "Signature not yet current: 20240101T120000Z is still later than 20240101T115959Z (20240101T114459Z + 15 min.)",
		},
		{
			name: "presigned URL past X-Amz-Expires",
			req:  clientRequest{method: http.MethodGet, target: "/healthz?X-Amz-Expires=60", presign: true},
			now:  signTime().Add(61 * time.Second),
			code: CodeInvalidSignature, status: 403,
			message: "Signature expired: 20240101T120000Z is now earlier than 20240101T120001Z (20240101T120101Z - 1 min.)",
		},
		{
			name: "presigned URL with X-Amz-Expires=0 a second later",
			req:  clientRequest{method: http.MethodGet, target: "/healthz?X-Amz-Expires=0", presign: true},
			now:  signTime().Add(time.Second),
			code: CodeInvalidSignature, status: 403,
			message: "Signature expired: 20240101T120000Z is now earlier than 20240101T120001Z (20240101T120001Z - 0 min.)",
		},
		{
			name: "presigned URL with X-Amz-Expires over a week",
			req:  clientRequest{method: http.MethodGet, target: "/healthz?X-Amz-Expires=604801", presign: true},
			code: CodeIncompleteSignature, status: 403,
			message: "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
		},
		{
			name: "presigned URL with a non-numeric X-Amz-Expires",
			req:  clientRequest{method: http.MethodGet, target: "/healthz?X-Amz-Expires=soon", presign: true},
			code: CodeIncompleteSignature, status: 403, message: "X-Amz-Expires should be a number",
		},
		{
			name: "presigned URL missing X-Amz-SignedHeaders",
			req:  clientRequest{method: http.MethodGet, target: "/healthz", presign: true},
			alter: func(r *http.Request, b []byte) []byte {
				r.RequestURI = strings.Replace(r.RequestURI, "X-Amz-SignedHeaders=host", "", 1)
				return b
			},
			code: CodeIncompleteSignature, status: 403,
			message: "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', " +
				"'X-Amz-SignedHeaders', 'X-Amz-Date'. Re-examine the query-string parameters.",
		},
		{
			name: "presigned URL with a tampered query",
			req:  clientRequest{method: http.MethodGet, target: "/healthz?x=1", presign: true},
			alter: func(r *http.Request, b []byte) []byte {
				r.RequestURI = strings.Replace(r.RequestURI, "x=1", "x=2", 1)
				return b
			},
			code: CodeInvalidSignature, status: 403, message: mismatch,
		},
		{
			name: "presigned URL with another algorithm",
			req:  clientRequest{method: http.MethodGet, target: "/healthz", presign: true},
			alter: func(r *http.Request, b []byte) []byte {
				r.RequestURI = strings.Replace(r.RequestURI, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", 1)
				return b
			},
			code: CodeIncompleteSignature, status: 403, message: `X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`,
		},
		{
			name: "scope day differs from X-Amz-Date",
			req:  clientRequest{target: "/", body: jsonBody},
			alter: func(r *http.Request, b []byte) []byte {
				r.Header.Set("X-Amz-Date", "20240102T000500Z")
				return b
			},
			now:  time.Date(2024, 1, 2, 0, 5, 0, 0, time.UTC),
			code: CodeInvalidSignature, status: 403,
			message: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: " +
				"'20240101' != '20240102', from '20240102T000500Z'.",
		},
		{
			name: "declared UNSIGNED-PAYLOAD",
			req: clientRequest{target: "/", body: jsonBody, payloadHash: "UNSIGNED-PAYLOAD",
				header: http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}},
			code: CodeInvalidSignature, status: 403, message: mismatch,
		},
		{
			name: "presigned over host alone with UNSIGNED-PAYLOAD",
			req:  clientRequest{target: "/endpoints/e/invocations", body: []byte("1,2\n"), presign: true, payloadHash: "UNSIGNED-PAYLOAD"},
			code: CodeInvalidSignature, status: 403, message: mismatch,
		},
		{
			name: "presigned request with an X-Amz-Target added after signing",
			req:  clientRequest{target: "/?X-Amz-Expires=60", body: jsonBody, presign: true},
			alter: func(r *http.Request, b []byte) []byte {
				r.Header.Set("X-Amz-Target", "SageMaker.DeleteEndpoint")
				return b
			},
			code: CodeIncompleteSignature, status: 403,
			message: "There were headers present in the request which were not signed: x-amz-target",
		},
		{
			name: "scoped to s3",
			req:  clientRequest{target: "/", body: jsonBody, service: "s3"},
			code: CodeInvalidSignature, status: 403, message: "Credential should be scoped to correct service: 'sagemaker'. ",
		},
		{
			name: "scoped to monitoring",
			req:  clientRequest{target: "/", body: jsonBody, service: "monitoring"},
			code: CodeInvalidSignature, status: 403, message: "Credential should be scoped to correct service: 'sagemaker'. ",
		},
		{
			name: "scoped to another region",
			req:  clientRequest{target: "/", body: jsonBody, region: "xx-nowhere-9"},
			code: CodeInvalidSignature, status: 403, message: "Credential should be scoped to a valid region, not 'xx-nowhere-9'. ",
		},
		{
			name: "undeclared UNSIGNED-PAYLOAD in the Authorization header form",
			req:  clientRequest{target: "/", body: jsonBody, payloadHash: "UNSIGNED-PAYLOAD"},
			code: CodeInvalidSignature, status: 403, message: mismatch,
		},
		{
			name: "X-Amz-Content-Sha256 switched to UNSIGNED-PAYLOAD after signing",
			req:  clientRequest{target: "/", body: jsonBody, header: http.Header{"X-Amz-Content-Sha256": {hashHex(jsonBody)}}},
			alter: func(r *http.Request, _ []byte) []byte {
				r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
				return nil
			},
			code: CodeInvalidSignature, status: 403, message: mismatch,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = signTime()
			}
			r, body, _ := sign(t, tt.req)
			if tt.alter != nil {
				body = tt.alter(r, body)
			}
			id, err := newTestVerifier(t, now).Verify(r, body, testScope)
			if err == nil {
				t.Fatalf("Verify accepted the request as %+v", id)
			}
			e := asError(t, err)
			got := fmt.Sprintf("%s %d %q", e.Code, e.HTTPStatus(), e.Message)
			want := fmt.Sprintf("%s %d %q", tt.code, tt.status, tt.message)
			if got != want {
				t.Errorf("error = %s\n       want %s", got, want)
			}
		})
	}
}

// TestVerifyReordersWireQuery checks that the query is canonicalized from its
// decoded parameters, not from the bytes on the wire.
func TestVerifyReordersWireQuery(t *testing.T) {
	r, body, _ := sign(t, clientRequest{method: http.MethodGet, target: "/m?b=2&a=x%20y&a=0"})
	path, _, _ := strings.Cut(r.RequestURI, "?")
	r.RequestURI = path + "?a=x+y&b=2&a=%30"
	if _, err := newTestVerifier(t, signTime()).Verify(r, body, testScope); err != nil {
		t.Errorf("Verify after reordering and re-escaping the query: %v", err)
	}
}

func TestVerifyRejectsMalformedAuthorization(t *testing.T) {
	const (
		cred  = "AKIDEXAMPLE/20240101/us-east-1/sagemaker/aws4_request"
		sig   = "Signature=" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		valid = "AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=host;x-amz-date, " + sig
	)
	amzDate := http.Header{"X-Amz-Date": {"20240101T120000Z"}}
	tests := []struct {
		name    string
		header  http.Header
		code    string
		message string
		status  int
	}{
		{
			name: "no Authorization header or query parameters",
			code: CodeMissingAuthenticationToken, message: "Missing Authentication Token", status: 403,
		},
		{
			name:   "empty Authorization header",
			header: http.Header{"Authorization": {""}, "X-Amz-Date": {"20240101T120000Z"}},
			code:   CodeIncompleteSignature, status: 403,
			message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization=",
		},
		{
			name:   "bearer token",
			header: http.Header{"Authorization": {"Bearer abc.def"}},
			code:   CodeIncompleteSignature, status: 403,
			message: "'abc.def' not a valid key=value pair (missing equal-sign) in Authorization header: 'Bearer abc.def'.",
		},
		{
			name:   "bare token without date headers",
			header: http.Header{"Authorization": {"eyJhbGciOiJIUzI1NiJ9"}},
			code:   CodeIncompleteSignature, status: 403,
			message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a " +
				"'X-Amz-Date' or a 'Date' header. Authorization=eyJhbGciOiJIUzI1NiJ9",
		},
		{
			name:   "only a credential",
			header: http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=" + cred}, "X-Amz-Date": {"20240101T120000Z"}},
			code:   CodeIncompleteSignature, status: 403,
			message: "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. " +
				"Authorization=AWS4-HMAC-SHA256 Credential=" + cred,
		},
		{
			name:   "space inside the credential",
			header: http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE /20240101/us-east-1/sagemaker/aws4_request, SignedHeaders=host, " + sig}},
			code:   CodeIncompleteSignature, status: 403,
			message: "'/20240101/us-east-1/sagemaker/aws4_request' not a valid key=value pair (missing equal-sign) in Authorization header: " +
				"'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE /20240101/us-east-1/sagemaker/aws4_request, SignedHeaders=host, " + sig + "'.",
		},
		{
			name:   "credential with three elements",
			header: withAuth(amzDate, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1, SignedHeaders=host, "+sig),
			code:   CodeIncompleteSignature, status: 403,
			message: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDEXAMPLE/20240101/us-east-1'",
		},
		{
			name:   "credential with another terminator",
			header: withAuth(amzDate, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/sagemaker/aws4_req, SignedHeaders=host, "+sig),
			code:   CodeInvalidSignature, status: 403,
			message: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_req'. ",
		},
		{
			name:   "credential without a region",
			header: withAuth(amzDate, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101//sagemaker/aws4_request, SignedHeaders=host, "+sig),
			code:   CodeInvalidSignature, status: 403,
			message: "Credential should be scoped to a valid region. ",
		},
		{
			name:   "SigV4a algorithm",
			header: withAuth(amzDate, "AWS4-ECDSA-P256-SHA256 Credential="+cred+", SignedHeaders=host, "+sig),
			code:   CodeIncompleteSignature, status: 403,
			message: "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256'",
		},
		{
			name:   "host not signed",
			header: withAuth(amzDate, "AWS4-HMAC-SHA256 Credential="+cred+", SignedHeaders=x-amz-date, "+sig),
			code:   CodeIncompleteSignature, status: 403,
			message: "'Host' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name:   "no signed headers",
			header: withAuth(amzDate, "AWS4-HMAC-SHA256 Credential="+cred+", SignedHeaders=, "+sig),
			code:   CodeIncompleteSignature, status: 403,
			message: "'Host' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name:   "X-Amz-Date in extended format",
			header: withAuth(http.Header{"X-Amz-Date": {"2024-01-01T12:00:00Z"}}, valid),
			code:   CodeIncompleteSignature, status: 403,
			message: "Date must be in ISO-8601 'basic format'. Got '2024-01-01T12:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601",
		},
		{
			name:   "old Date header used in place of X-Amz-Date",
			header: withAuth(http.Header{"Date": {"Mon, 01 Jan 2024 11:00:00 GMT"}}, strings.Replace(valid, "x-amz-date", "date", 1)),
			code:   CodeInvalidSignature, status: 403,
			message: "Signature expired: 20240101T110000Z is now earlier than 20240101T114500Z (20240101T120000Z - 15 min.)",
		},
		{
			name:   "well-formed, unknown key",
			header: withAuth(amzDate, "AWS4-HMAC-SHA256 Credential=AKIDNOBODY/20240101/us-east-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, "+sig),
			code:   CodeUnrecognizedClient, status: 403,
			message: "The security token included in the request is invalid.",
		},
		{
			name:   "Date header used but not signed",
			header: withAuth(http.Header{"Date": {"Mon, 01 Jan 2024 12:00:00 GMT"}}, valid),
			code:   CodeIncompleteSignature, status: 403,
			message: "'Date' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name:   "X-Amz-Date not signed",
			header: withAuth(amzDate, "AWS4-HMAC-SHA256 Credential="+cred+", SignedHeaders=host, "+sig),
			code:   CodeIncompleteSignature, status: 403,
			message: "There were headers present in the request which were not signed: x-amz-date",
		},
		{
			name: "X-Amz-Target and another x-amz header not signed",
			header: withAuth(http.Header{"X-Amz-Date": {"20240101T120000Z"}, "X-Amz-Target": {"SageMaker.DeleteEndpoint"}, "X-Amz-Meta": {"x"}},
				valid),
			code: CodeIncompleteSignature, status: 403,
			message: "There were headers present in the request which were not signed: x-amz-meta, x-amz-target",
		},
		{
			name:   "scoped to another service",
			header: withAuth(amzDate, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, "+sig),
			code:   CodeInvalidSignature, status: 403,
			message: "Credential should be scoped to correct service: 'sagemaker'. ",
		},
		{
			name:   "scoped to another region",
			header: withAuth(amzDate, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/xx-nowhere-9/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, "+sig),
			code:   CodeInvalidSignature, status: 403,
			message: "Credential should be scoped to a valid region, not 'xx-nowhere-9'. ",
		},
		{
			name:   "well-formed, known key, wrong signature",
			header: withAuth(amzDate, valid),
			code:   CodeInvalidSignature, status: 403,
			message: mismatch,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequest(http.MethodPost, testEndpoint+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range tt.header {
				r.Header[k] = vs
			}
			_, err = newTestVerifier(t, signTime()).Verify(r, nil, testScope)
			e := asError(t, err)
			got := fmt.Sprintf("%s %d %q", e.Code, e.HTTPStatus(), e.Message)
			want := fmt.Sprintf("%s %d %q", tt.code, tt.status, tt.message)
			if got != want {
				t.Errorf("error = %s\n       want %s", got, want)
			}
		})
	}
}

func withAuth(h http.Header, auth string) http.Header {
	h = h.Clone()
	h.Set("Authorization", auth)
	return h
}

func TestNewVerifier(t *testing.T) {
	tests := []struct {
		name    string
		creds   map[string]Credential
		wantErr string
	}{
		{name: "no credentials", creds: nil, wantErr: "no credentials"},
		{name: "profile without secret", creds: map[string]Credential{"a": {AccessKeyID: "K"}}, wantErr: `profile "a"`},
		{
			name: "same key, different secrets",
			creds: map[string]Credential{
				"a": {AccessKeyID: "K", SecretAccessKey: "s1"},
				"b": {AccessKeyID: "K", SecretAccessKey: "s2"},
			},
			wantErr: `profiles "a" and "b"`,
		},
		{
			name: "same key pair in two profiles",
			creds: map[string]Credential{
				"a": {AccessKeyID: "K", SecretAccessKey: "s"},
				"b": {AccessKeyID: "K", SecretAccessKey: "s"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewVerifier(tt.creds, nil)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("NewVerifier: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("NewVerifier error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 64) // 1 KiB
	r, got, _ := sign(b, clientRequest{target: "/endpoints/my%20ep/invocations", body: body, header: http.Header{
		"Content-Type": {"text/csv"}, "Accept": {"application/json"},
	}})
	v := newTestVerifier(b, signTime())
	b.SetBytes(int64(len(got)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, got, testScope); err != nil {
			b.Fatal(err)
		}
	}
}
