package sigv4

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/smithy-go/encoding/httpbinding"
	"github.com/google/go-cmp/cmp"
)

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want authorization
	}{
		{
			name: "as the Go SDK writes it",
			in:   "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
			want: authorization{Algorithm: "AWS4-HMAC-SHA256", Credential: "AKID/20240101/us-east-1/sagemaker/aws4_request",
				SignedHeaders: "host;x-amz-date", Signature: "abc", HasCredential: true, HasSignedHeaders: true, HasSignature: true},
		},
		{
			name: "commas without spaces, other order, leading space",
			in:   "  AWS4-HMAC-SHA256 Signature=abc,SignedHeaders=host,Credential=K/d/r/s/aws4_request",
			want: authorization{Algorithm: "AWS4-HMAC-SHA256", Credential: "K/d/r/s/aws4_request",
				SignedHeaders: "host", Signature: "abc", HasCredential: true, HasSignedHeaders: true, HasSignature: true},
		},
		{
			name: "empty values are present",
			in:   "AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=",
			want: authorization{Algorithm: "AWS4-HMAC-SHA256", HasCredential: true, HasSignedHeaders: true, HasSignature: true},
		},
		{
			name: "unknown parameters ignored, repeated ones keep the last",
			in:   "AWS4-HMAC-SHA256 Foo=bar, Signature=a, Signature=b",
			want: authorization{Algorithm: "AWS4-HMAC-SHA256", Signature: "b", HasSignature: true},
		},
		{
			name: "value containing '='",
			in:   "X Credential=a=b",
			want: authorization{Algorithm: "X", Credential: "a=b", HasCredential: true},
		},
		{name: "algorithm only", in: "AWS4-HMAC-SHA256", want: authorization{Algorithm: "AWS4-HMAC-SHA256"}},
		{name: "empty", in: "", want: authorization{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAuthorization(tt.in)
			if err != nil {
				t.Fatalf("parseAuthorization: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, seed := range []string{
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/sagemaker/aws4_request,SignedHeaders=content-type;host,Signature=",
		"Bearer abc", "", " ", "=", ",,,", "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=x",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101//sagemaker/aws4_request, SignedHeaders=HOST, Signature=zz",
	} {
		f.Add(seed, "20240101T120000Z")
	}
	v, err := NewVerifier(testCredentials(), fixedClock(signTime()))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header, amzDate string) {
		a, err := parseAuthorization(header)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeIncompleteSignature {
				t.Fatalf("parse error %v is not an IncompleteSignatureException", err)
			}
		} else if strings.ContainsAny(a.Credential+a.SignedHeaders+a.Signature, ", \t") {
			t.Fatalf("parameter values %+v contain separators", a)
		}

		// The whole verification must not panic either, and must fail: no
		// input here carries a valid signature.
		r, err := http.NewRequest(http.MethodPost, testEndpoint+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header["Authorization"] = []string{header}
		r.Header["X-Amz-Date"] = []string{amzDate}
		id, err := v.Verify(r, nil, testScope)
		if err == nil {
			t.Fatalf("Verify accepted %q as %+v", header, id)
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Verify error %v is not an *Error", err)
		}
	})
}

func FuzzVerifyPresignedQuery(f *testing.F) {
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240101%2Fus-east-1%2Fsagemaker%2Faws4_request" +
		"&X-Amz-Date=20240101T120000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00")
	f.Add("X-Amz-Signature=&X-Amz-Expires=-1")
	f.Add("X-Amz-Credential=%zz;&&=")
	v, err := NewVerifier(testCredentials(), fixedClock(signTime()))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := &http.Request{Method: http.MethodGet, Host: "localhost", Header: http.Header{},
			URL: &url.URL{Path: "/healthz", RawQuery: rawQuery}}
		if id, err := v.Verify(r, nil, testScope); err == nil {
			t.Fatalf("Verify accepted %q as %+v", rawQuery, id)
		}
	})
}

// FuzzCanonicalURI checks the path escaping against the SDK's own.
func FuzzCanonicalURI(f *testing.F) {
	for _, seed := range []string{"/", "/endpoints/my%20ep/invocations", "/a b/ü/~!*'();:@&=+$,?#[]", "\x00\xff%"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if got, want := canonicalURI(p), httpbinding.EscapePath(p, false); got != want {
			t.Fatalf("canonicalURI(%q) = %q, SDK gives %q", p, got, want)
		}
		if got, want := escape(p, false), httpbinding.EscapePath(p, true); got != want {
			t.Fatalf("escape(%q, false) = %q, SDK gives %q", p, got, want)
		}
	})
}

func TestWireTarget(t *testing.T) {
	tests := []struct {
		name       string
		requestURI string
		url        string
		wantPath   string
		wantQuery  string
	}{
		{name: "origin form", requestURI: "/a%20b/c?x=1&y", wantPath: "/a%20b/c", wantQuery: "x=1&y"},
		{name: "absolute form", requestURI: "http://h:1/a%2Fb?q=%20", wantPath: "/a%2Fb", wantQuery: "q=%20"},
		{name: "absolute form without path", requestURI: "http://h?q=1", wantPath: "/", wantQuery: "q=1"},
		{name: "client request uses the escaped path", url: "http://h/a%2Fb/c%20d?z=1", wantPath: "/a%2Fb/c%20d", wantQuery: "z=1"},
		{name: "client request with opaque URL", url: "http://h/ignored?z=1", wantPath: "/x%2Fy", wantQuery: "z=1"},
		{name: "empty path", url: "http://h", wantPath: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{RequestURI: tt.requestURI}
			if tt.url != "" {
				u, err := url.Parse(tt.url)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(tt.name, "opaque") {
					u.Opaque = "//h/x%2Fy"
				}
				r.URL = u
			}
			path, query := wireTarget(r)
			if path != tt.wantPath || query != tt.wantQuery {
				t.Errorf("wireTarget = %q, %q; want %q, %q", path, query, tt.wantPath, tt.wantQuery)
			}
		})
	}
}

func TestStripExcessSpaces(t *testing.T) {
	tests := map[string]string{
		"":              "",
		"a":             "a",
		"  a  ":         "a",
		"a  b   c":      "a b c",
		" a \t  b ":     "a \t b",
		"no-runs here ": "no-runs here",
	}
	for in, want := range tests {
		if got := stripExcessSpaces(in); got != want {
			t.Errorf("stripExcessSpaces(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzBegin feeds the header form arbitrary Authorization, date, target
// and extra x-amz-* headers: Begin must not panic, must fail with an
// *Error (nothing here is signed), and never for a reason other than
// AWS's codes.
func FuzzBegin(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=00",
		"20240101T120000Z", "SageMaker.DeleteEndpoint", "X-Amz-Meta", "v")
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/xx-nowhere-9/s3/aws4_request, SignedHeaders=host, Signature=",
		"", "", "", "")
	f.Add("AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=;;;, Signature=,,", "2024", "x", "X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	v, err := NewVerifier(testCredentials(), fixedClock(signTime()))
	if err != nil {
		f.Fatal(err)
	}
	codes := map[string]bool{CodeMissingAuthenticationToken: true, CodeIncompleteSignature: true, CodeUnrecognizedClient: true, CodeInvalidSignature: true}
	f.Fuzz(func(t *testing.T, auth, amzDate, target, extraName, extraValue string) {
		r, err := http.NewRequest(http.MethodPost, testEndpoint+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header["Authorization"] = []string{auth}
		if amzDate != "" {
			r.Header["X-Amz-Date"] = []string{amzDate}
		}
		if target != "" {
			r.Header["X-Amz-Target"] = []string{target}
		}
		if extraName != "" {
			r.Header[http.CanonicalHeaderKey(extraName)] = []string{extraValue}
		}
		p, err := v.Begin(r, testScope)
		if err == nil {
			_, err = p.Finish(hashHex(nil))
		}
		if err == nil {
			t.Fatalf("accepted %q", auth)
		}
		var e *Error
		if !errors.As(err, &e) || !codes[e.Code] {
			t.Fatalf("error %v is not an AWS authentication error", err)
		}
	})
}
