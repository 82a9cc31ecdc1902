package httpwire

import "testing"

func TestEqualFold(t *testing.T) {
	for _, tc := range []struct {
		b, s string
		want bool
	}{
		{"Content-Length", "content-length", true},
		{"CONTENT-LENGTH", "Content-Length", true},
		{"Content-Lengthx", "Content-Length", false},
		{"Content_Length", "Content-Length", false},
		{"[", "{", false}, // differ by 0x20 but are not letters
		{"\xe2\x84\xaaeep-alive", "keep-alive", false}, // the Kelvin sign is not K here
	} {
		if got := EqualFold([]byte(tc.b), tc.s); got != tc.want {
			t.Errorf("EqualFold(%q, %q) = %v", tc.b, tc.s, got)
		}
	}
}

func TestHasToken(t *testing.T) {
	for _, tc := range []struct {
		v, tok string
		want   bool
	}{
		{"close", "close", true},
		{"keep-alive, Close", "close", true},
		{" \tclose\t ", "close", true},
		{"closed", "close", false},
		{"", "close", false},
		{",,", "close", false},
	} {
		if got := HasToken([]byte(tc.v), tc.tok); got != tc.want {
			t.Errorf("HasToken(%q, %q) = %v", tc.v, tc.tok, got)
		}
	}
}

func TestParseLength(t *testing.T) {
	for _, tc := range []struct {
		v    string
		n    int64
		want bool
	}{
		{"0", 0, true},
		{"1234", 1234, true},
		{"999999999999999999", 999999999999999999, true},
		{"1000000000000000000", 0, false}, // 19 digits
		{"", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1 2", 0, false},
		{"0x10", 0, false},
	} {
		n, ok := ParseLength([]byte(tc.v))
		if ok != tc.want || n != tc.n {
			t.Errorf("ParseLength(%q) = %d, %v", tc.v, n, ok)
		}
	}
}
