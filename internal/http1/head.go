package http1

import (
	"bytes"
	"errors"

	"hearth/internal/httpwire"
)

// maxFields bounds the header fields of a request served here; a request
// with more is handed to the fallback server.
const maxFields = 64

// field is one header field, both parts slices of the connection's buffer.
type field struct{ name, value []byte }

// head is a parsed request line and header, valid until the connection's
// buffer is reused.
type head struct {
	method, target []byte
	fields         []field
	contentLength  int64
	close          bool // "Connection: close"
	size           int  // bytes of the head, its final blank line included
}

var errIncomplete = errors.New("http1: incomplete head")

// errDecline: a head this server does not serve itself, though it may
// be a valid request; the fallback server judges it.
var errDecline = errors.New("http1: declined")

// parseHead parses the request head at the start of b into h, reusing
// h's field slice. It returns errIncomplete when b holds no whole head yet,
// and errDecline for anything but a plain HTTP/1.1 request with a
// Content-Length (or no body) and a Host: HTTP/1.0, Transfer-Encoding,
// Expect, Upgrade, obsolete line folding, bare LF line ends, characters a
// token or field value may not hold, repeated Content-Length, over
// maxFields fields. Every path out of here but success leaves the bytes
// for net/http, which answers them as it always does.
func parseHead(b []byte, h *head) error {
	end := bytes.Index(b, crlfcrlf)
	scan := b
	if end >= 0 {
		scan = b[:end+4]
	}
	if hasBareLF(scan) {
		return errDecline // bare-LF line ends: net/http's business
	}
	if end < 0 {
		return errIncomplete
	}
	h.size = end + 4
	h.fields = h.fields[:0]
	h.contentLength = 0
	h.close = false
	b = b[:end+2] // every line with its CRLF

	line, rest, _ := bytes.Cut(b, crlf)
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return errDecline
	}
	h.method = line[:sp]
	line = line[sp+1:]
	sp = bytes.IndexByte(line, ' ')
	if sp <= 0 || !bytes.Equal(line[sp+1:], http11) {
		return errDecline
	}
	h.target = line[:sp]
	if !isToken(h.method) || h.target[0] != '/' || !isTarget(h.target) || !validEscapes(h.target) {
		return errDecline
	}

	sawLength, sawHost := false, false
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, crlf)
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || len(h.fields) == maxFields {
			return errDecline // also a folded line, which starts with a space
		}
		name, value := line[:colon], httpwire.TrimOWS(line[colon+1:])
		if !isToken(name) || !isFieldValue(value) {
			return errDecline
		}
		switch {
		case httpwire.EqualFold(name, "Content-Length"):
			n, ok := httpwire.ParseLength(value)
			if !ok || sawLength {
				return errDecline
			}
			sawLength, h.contentLength = true, n
		case httpwire.EqualFold(name, "Host"):
			if sawHost || !validHost(value) {
				return errDecline // net/http answers 400
			}
			sawHost = true
		case httpwire.EqualFold(name, "Transfer-Encoding"), httpwire.EqualFold(name, "Expect"), httpwire.EqualFold(name, "Upgrade"):
			return errDecline
		case httpwire.EqualFold(name, "Connection"):
			if httpwire.HasToken(value, "close") {
				h.close = true
			}
			if httpwire.HasToken(value, "upgrade") {
				return errDecline
			}
		}
		h.fields = append(h.fields, field{name, value})
	}
	if !sawHost {
		return errDecline
	}
	return nil
}

var (
	crlf     = []byte("\r\n")
	crlfcrlf = []byte("\r\n\r\n")
	http11   = []byte("HTTP/1.1")
)

// hasBareLF reports whether b holds an LF not preceded by CR.
func hasBareLF(b []byte) bool {
	for i := bytes.IndexByte(b, '\n'); i >= 0; {
		if i == 0 || b[i-1] != '\r' {
			return true
		}
		j := bytes.IndexByte(b[i+1:], '\n')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// validEscapes reports whether every % in the target's path starts a
// two-digit hex escape, as net/http requires of a request's path.
func validEscapes(target []byte) bool {
	path, _, _ := bytes.Cut(target, []byte{'?'})
	for i := 0; i < len(path); i++ {
		if path[i] == '%' {
			if i+2 >= len(path) || !isHex(path[i+1]) || !isHex(path[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// validHost reports whether a Host value holds only the characters
// net/http's server allows there.
func validHost(v []byte) bool {
	for _, c := range v {
		if !hostChars[c] {
			return false
		}
	}
	return true
}

var hostChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!$%&'()*+,-.:;=[]_~" {
		t[c] = true
	}
	return t
}()

// get returns the first value of the named field, or nil.
func (h *head) get(name string) []byte {
	for _, f := range h.fields {
		if httpwire.EqualFold(f.name, name) {
			return f.value
		}
	}
	return nil
}

// tokenChars marks the characters of an RFC 9110 token.
var tokenChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenChars[c] {
			return false
		}
	}
	return true
}

// isFieldValue accepts visible ASCII, space, tab and obs-text, as net/http does.
func isFieldValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// isTarget accepts an origin-form target of visible ASCII.
func isTarget(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}
