package artifact

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateURL(t *testing.T) {
	tests := []struct {
		name      string
		url       string
		allowHTTP bool
		want      string // error text after the URL; "" means valid
	}{
		{name: "no artifact", url: ""},
		{name: "s3 object", url: "s3://models/abalone/model.tar.gz"},
		{name: "s3 legacy bucket name", url: "s3://My_Bucket/model.tar.gz"},
		{name: "https", url: "https://models.example.com/abalone/model.tar.gz?X-Amz-Signature=abc"},
		{name: "file url", url: "file:///srv/models/model.tar.gz"},
		{name: "file url with localhost", url: "file://localhost/srv/models/model.tar.gz"},
		{name: "absolute path", url: "/srv/models/model.tar.gz"},
		{name: "upper-case scheme", url: "S3://models/model.tar.gz"},
		{name: "http when allowed", url: "http://127.0.0.1:9000/m.tar.gz", allowHTTP: true},
		{name: "http when not allowed", url: "http://127.0.0.1:9000/m.tar.gz",
			want: "uses plain http, which is not allowed; use https (http is accepted only when the server enables it)"},
		{name: "relative path", url: "models/model.tar.gz",
			want: "must be an s3://, https:// or file:// URL, or an absolute path"},
		{name: "unsupported scheme", url: "gs://bucket/model.tar.gz",
			want: `has unsupported scheme "gs"; use s3://, https:// or file://, or an absolute path`},
		{name: "s3 without bucket", url: "s3:///model.tar.gz", want: "names no bucket; the form is s3://bucket/key"},
		{name: "s3 bucket only", url: "s3://models", want: "names an S3 prefix, not an object"},
		{name: "s3 prefix", url: "s3://models/abalone/", want: "names an S3 prefix, not an object"},
		{name: "s3 bad bucket", url: "s3://my bucket/m.tar.gz", want: `bucket name "my bucket" is not valid`},
		{name: "file url with host", url: "file://server/share/m.tar.gz", want: `names host "server"; a file URL must be file:///absolute/path`},
		{name: "file url with query", url: "file:///m.tar.gz?v=1", want: "has a query or fragment"},
		{name: "https without host", url: "https:///m.tar.gz", want: "names no host"},
		{name: "control character", url: "/models/m\n.tar.gz", want: "contains control characters"},
		{name: "too long", url: "s3://b/" + strings.Repeat("k", 1020), want: "is 1027 characters long; at most 1024 are allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(Options{AllowHTTP: tt.allowHTTP})
			err := f.ValidateURL(tt.url)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ValidateURL(%q) = %v, want nil", tt.url, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateURL(%q) = nil, want an error", tt.url)
			}
			if !errors.Is(err, ErrInvalidURL) {
				t.Errorf("error %v does not match ErrInvalidURL", err)
			}
			if !strings.HasPrefix(err.Error(), "invalid model data URL ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error is\n\t%s\nwant it to contain\n\t%s", err, tt.want)
			}
		})
	}
	if err := ValidateURL("http://127.0.0.1/m.tar.gz"); !errors.Is(err, ErrInvalidURL) {
		t.Errorf("package ValidateURL accepted plain http: %v", err)
	}
}

func TestSourceBaseName(t *testing.T) {
	tests := []struct {
		url  string
		want string
	}{
		{"s3://b/abalone/xgboost-model", "xgboost-model"},
		{"https://h/a/model.json?sig=x", "model.json"},
		{"https://h/", "model"},
		{"https://h", "model"},
		{"/srv/models/model.ubj", "model.ubj"},
		{"file:///srv/models/model%20v2.bin", "model v2.bin"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			s, err := parseSource(tt.url, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.baseName(); got != tt.want {
				t.Errorf("baseName() = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{"", "s3://b/k", "https://h/p", "file:///x", "/x", "http://h/p", "gs://b", "s3://", "file://h/x", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		src, err := parseSource(s, true)
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) || ae.Op != OpValidate || !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("error %v is not a validation *Error", err)
			}
			return
		}
		if s != "" && src.kind == srcNone {
			t.Fatalf("%q accepted as no artifact", s)
		}
		name := src.baseName()
		if src.kind != srcNone && (name == "" || name == "." || name == ".." || strings.Contains(name, "/")) {
			t.Fatalf("%q gives unsafe base name %q", s, name)
		}
	})
}
