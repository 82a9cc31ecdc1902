package artifact

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// maxURLLen is SageMaker's limit on ModelDataUrl.
const maxURLLen = 1024

type sourceKind int

const (
	srcNone sourceKind = iota // no artifact
	srcFile                   // local file or directory
	srcS3                     // s3://bucket/key
	srcHTTP                   // https:// or, when allowed, http://
)

// source is a parsed ModelDataUrl.
type source struct {
	raw    string
	kind   sourceKind
	path   string   // srcFile: clean absolute path
	bucket string   // srcS3
	key    string   // srcS3
	url    *url.URL // srcHTTP
}

// ValidateURL reports whether s is a ModelDataUrl a [Fetcher] with default
// [Options] accepts: empty (no artifact), s3://bucket/key, https://host/path,
// file:///abs/path or an absolute path. Plain http:// is refused; use
// [Fetcher.ValidateURL] to honour [Options.AllowHTTP]. It does not contact the
// source. A non-nil error is an [*Error] matching [ErrInvalidURL].
func ValidateURL(s string) error {
	_, err := parseSource(s, false)
	return err
}

// ValidateURL is like the package-level [ValidateURL] but accepts http://
// URLs when the Fetcher was created with [Options.AllowHTTP].
func (f *Fetcher) ValidateURL(s string) error {
	_, err := parseSource(s, f.opts.AllowHTTP)
	return err
}

// parseSource parses and checks a ModelDataUrl.
func parseSource(raw string, allowHTTP bool) (source, error) {
	s, err := parse(raw, allowHTTP)
	if err != nil {
		return source{}, &Error{URL: raw, Op: OpValidate, Err: classify(ErrInvalidURL, "%s", err.Error())}
	}
	return s, nil
}

func parse(raw string, allowHTTP bool) (source, error) {
	s := source{raw: raw}
	switch {
	case raw == "":
		return s, nil
	case len(raw) > maxURLLen:
		return s, fmt.Errorf("is %d characters long; at most %d are allowed", len(raw), maxURLLen)
	case strings.ContainsFunc(raw, isControl):
		return s, errors.New("contains control characters")
	case strings.HasPrefix(raw, "/"):
		s.kind, s.path = srcFile, filepath.Clean(raw)
		return s, nil
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return s, errors.New("must be an s3://, https:// or file:// URL, or an absolute path")
	}
	switch strings.ToLower(scheme) {
	case "s3":
		bucket, key, _ := strings.Cut(rest, "/")
		switch {
		case bucket == "":
			return s, errors.New("names no bucket; the form is s3://bucket/key")
		case !validBucket(bucket):
			return s, fmt.Errorf("bucket name %q is not valid", bucket)
		case key == "" || strings.HasSuffix(key, "/"):
			return s, errors.New("names an S3 prefix, not an object; point it at the model's .tar.gz object")
		}
		s.kind, s.bucket, s.key = srcS3, bucket, key
		return s, nil
	case "file":
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			return s, fmt.Errorf("is not a valid URL: %v", urlErrText(err))
		case u.Host != "" && u.Host != "localhost":
			return s, fmt.Errorf("names host %q; a file URL must be file:///absolute/path", u.Host)
		case u.RawQuery != "" || u.Fragment != "":
			return s, errors.New("has a query or fragment, which a file URL may not have")
		case !strings.HasPrefix(u.Path, "/"):
			return s, errors.New("has no absolute path; the form is file:///absolute/path")
		}
		s.kind, s.path = srcFile, filepath.Clean(u.Path)
		return s, nil
	case "https", "http":
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			return s, fmt.Errorf("is not a valid URL: %v", urlErrText(err))
		case u.Scheme == "http" && !allowHTTP:
			return s, errors.New("uses plain http, which is not allowed; use https (http is accepted only when the server enables it)")
		case u.Host == "":
			return s, errors.New("names no host")
		}
		u.Fragment = ""
		s.kind, s.url = srcHTTP, u
		return s, nil
	default:
		return s, fmt.Errorf("has unsupported scheme %q; use s3://, https:// or file://, or an absolute path", scheme)
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// validBucket accepts the characters S3 and S3-compatible stores allow in
// bucket names, including legacy upper-case and underscore names.
func validBucket(b string) bool {
	if len(b) > 255 {
		return false
	}
	for _, r := range b {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '.', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}

func urlErrText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// flightKey identifies the source so that concurrent fetches of it, however
// spelled, are coalesced.
func (s source) flightKey() string {
	switch s.kind {
	case srcFile:
		return "file:" + s.path
	case srcS3:
		return "s3:" + s.bucket + "/" + s.key
	case srcHTTP:
		return "http:" + s.url.String()
	default:
		return "none:"
	}
}

// baseName is the name a plain (non-archive) file gets in the model
// directory: the last element of the URL's path.
func (s source) baseName() string {
	var name string
	switch s.kind {
	case srcFile:
		name = filepath.Base(s.path)
	case srcS3:
		name = path.Base(s.key)
	case srcHTTP:
		name = path.Base(s.url.Path)
	}
	if name == "" || name == "." || name == ".." || name == "/" || strings.Contains(name, "/") {
		return "model"
	}
	return name
}
