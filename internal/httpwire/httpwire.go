// Package httpwire holds the HTTP/1.1 field lexing that Hearth's two
// hand-written parsers share: request heads on the invocation route's
// server (http1) and workers' responses (fleet). Comparisons are ASCII
// only, as the field names and tokens compared are.
package httpwire

import "bytes"

// EqualFold reports whether b is s, ignoring ASCII case.
func EqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], s[i]
		if c == d {
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// HasToken reports whether the comma-separated list v holds tok,
// ignoring ASCII case.
func HasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		var item []byte
		item, v, _ = bytes.Cut(v, []byte{','})
		if EqualFold(TrimOWS(item), tok) {
			return true
		}
	}
	return false
}

// TrimOWS trims optional whitespace (spaces and tabs) from both ends.
func TrimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// ParseLength parses a Content-Length value: decimal digits only, at most
// 18 of them, so that it cannot overflow.
func ParseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
