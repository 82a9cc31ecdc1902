package sigv4

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// wireTarget returns the path, still escaped, and the raw query of r as the
// client sent them. For a request received by a server that is the request
// line (r.RequestURI), which handlers that rewrite r.URL do not disturb; for
// a request built in process it is r.URL, read the way the SDK's signer reads
// it (URL.Opaque first, then the escaped path).
func wireTarget(r *http.Request) (path, rawQuery string) {
	if uri := r.RequestURI; uri != "" && uri != "*" {
		if !strings.HasPrefix(uri, "/") {
			// Absolute form: scheme://authority/path?query.
			if i := strings.Index(uri, "://"); i >= 0 {
				rest := uri[i+len("://"):]
				if j := strings.IndexAny(rest, "/?"); j >= 0 {
					uri = rest[j:]
				} else {
					uri = ""
				}
			}
		}
		path, rawQuery, _ = strings.Cut(uri, "?")
	} else if r.URL != nil {
		path, rawQuery = urlPath(r.URL), r.URL.RawQuery
	}
	if path == "" {
		path = "/"
	}
	return path, rawQuery
}

// urlPath mirrors the SDK signer's choice of path: the path part of
// URL.Opaque ("//host/path") when set, else URL.EscapedPath().
func urlPath(u *url.URL) string {
	if u.Opaque == "" {
		return u.EscapedPath()
	}
	opaque, _, _ := strings.Cut(u.Opaque, "?")
	opaque = strings.TrimPrefix(opaque, "//")
	if i := strings.IndexByte(opaque, '/'); i >= 0 {
		return opaque[i:]
	}
	return ""
}

// unreserved reports whether SigV4 leaves c unescaped: RFC 3986's unreserved
// set, A-Z a-z 0-9 - . _ ~.
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// escape percent-encodes, with upper-case hex, every byte of s outside the
// unreserved set, and '/' too unless keepSlash.
func escape(s string, keepSlash bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; !unreserved(c) && !(keepSlash && c == '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || keepSlash && c == '/' {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return string(b)
}

// canonicalURI is the path component of the canonical request for every
// service but S3: the escaped path escaped once more, '/' kept.
func canonicalURI(escapedPath string) string { return escape(escapedPath, true) }

// canonicalQuery is the query component of the canonical request: every
// parameter of the parsed query (as url.ParseQuery reads it, dropping what
// it cannot parse, as the SDK's signer does) but skip, name and value each
// URI-encoded, then sorted by encoded name and encoded value.
func canonicalQuery(query url.Values, skip string) string {
	type param struct{ key, value string }
	params := make([]param, 0, len(query))
	for k, vs := range query {
		if k == skip {
			continue
		}
		ek := escape(k, false)
		for _, v := range vs {
			params = append(params, param{ek, escape(v, false)})
		}
	}
	slices.SortFunc(params, func(a, b param) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// canonicalHeaders is the header component of the canonical request for the
// headers named in signed (lower-case, in the order the client listed them),
// each line "name:value\n". Values are trimmed with runs of spaces
// collapsed; repeated headers are joined by ','.
func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		switch lower := strings.ToLower(name); lower {
		case "host":
			host := r.Host
			if host == "" && r.URL != nil {
				host = r.URL.Host
			}
			b.WriteString(stripExcessSpaces(host))
		default:
			for i, v := range headerValues(r, lower) {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strings.TrimSpace(stripExcessSpaces(v)))
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// headerValues returns the values of the named header, including the two
// that net/http's server moves out of r.Header when it would have kept them.
func headerValues(r *http.Request, name string) []string {
	if vs := r.Header.Values(name); len(vs) > 0 {
		return vs
	}
	switch name {
	case "content-length":
		if r.ContentLength > 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	case "transfer-encoding":
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}
		}
	}
	return nil
}

// stripExcessSpaces removes leading and trailing spaces and collapses each
// inner run of spaces to one, as the SDK's signer does (tabs are left alone).
func stripExcessSpaces(s string) string {
	s = strings.Trim(s, " ")
	if !strings.Contains(s, "  ") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && i > 0 && s[i-1] == ' ' {
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}
