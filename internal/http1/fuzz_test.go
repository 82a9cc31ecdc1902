package http1

import (
	"bufio"
	"bytes"
	"errors"
	"hearth/internal/httpwire"
	"net/http"
	"net/textproto"
	"slices"
	"testing"
)

// FuzzParseHead checks parseHead against net/http: whatever it accepts,
// http.ReadRequest must read the same way; whatever it finds incomplete,
// net/http must not find whole either.
func FuzzParseHead(f *testing.F) {
	for _, s := range []string{
		invokeHead + `{"inputs":42}`,
		"POST /endpoints/x/invocations HTTP/1.1\r\nHost: localhost:8080\r\nContent-Type: text/csv\r\nContent-Length: 3\r\n\r\n1,2" +
			"POST /endpoints/x/invocations HTTP/1.1\r\nHost: localhost:8080\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
		"GET /ping HTTP/1.1\r\nHost: a\r\n\r\nGET /ping HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nconnection: keep-alive ,\tCLOSE\r\nX-Empty:\r\nX-Obs: caf\xc3\xa9\r\n\r\n",
		"GET /x?y=%zz HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\nx-a: 1\r\nX-A: 2\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\nabcdefg",
		"POST /x HTTP/1.0\r\nHost: a\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: a\r\nX-Test: a\r\n b\r\n\r\n",
		"GET /x HTTP/1.1\nHost: a\n\n",
		"GET /x HTTP/1.1\r\nHost: a\n\r\n",
		"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n" + manyFields(63) + "\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkParseHead(t, b)
	})
}

func checkParseHead(t *testing.T, b []byte) {
	var h head
	err := parseHead(b, &h)
	switch {
	case errors.Is(err, errDecline):
		return // net/http's to judge
	case errors.Is(err, errIncomplete):
		if bytes.Contains(b, crlfcrlf) {
			t.Fatalf("errIncomplete for %q, which holds a blank line", b)
		}
		if _, rerr := http.ReadRequest(bufio.NewReader(bytes.NewReader(b))); rerr == nil {
			t.Fatalf("errIncomplete for %q, which net/http reads as a whole request", b)
		}
		return
	case err != nil:
		t.Fatalf("parseHead(%q) = %v, want nil, errIncomplete or errDecline", b, err)
	}

	if h.size < 4 || h.size > len(b) || !bytes.HasSuffix(b[:h.size], crlfcrlf) || bytes.Index(b, crlfcrlf) != h.size-4 {
		t.Fatalf("size = %d does not end at the first blank line of %q", h.size, b)
	}
	// Parsing again into a used head, from the head's bytes alone, gives
	// the same result.
	again := head{close: true, contentLength: 99, fields: []field{{[]byte("X-Stale"), []byte("1")}}}
	if err := parseHead(bytes.Clone(b[:h.size]), &again); err != nil {
		t.Fatalf("parseHead of the head alone = %v", err)
	}
	if !sameHead(&h, &again) {
		t.Fatalf("parseHead of %q differs when run again on a used head", b)
	}

	r, rerr := http.ReadRequest(bufio.NewReader(bytes.NewReader(b[:h.size])))
	if rerr != nil {
		t.Fatalf("parseHead accepts %q; http.ReadRequest: %v", b[:h.size], rerr)
	}
	if r.Method != string(h.method) {
		t.Errorf("Method: net/http %q, parseHead %q", r.Method, h.method)
	}
	if r.RequestURI != string(h.target) {
		t.Errorf("RequestURI: net/http %q, parseHead %q", r.RequestURI, h.target)
	}
	if r.ProtoMajor != 1 || r.ProtoMinor != 1 {
		t.Errorf("net/http reads %s", r.Proto)
	}
	wantLength := int64(0)
	if h.get("Content-Length") != nil {
		wantLength = h.contentLength
	} else if h.contentLength != 0 {
		t.Errorf("contentLength = %d without a Content-Length field", h.contentLength)
	}
	if r.ContentLength != wantLength {
		t.Errorf("ContentLength: net/http %d, parseHead %d", r.ContentLength, wantLength)
	}
	if r.Close != h.close {
		t.Errorf("Close: net/http %v, parseHead %v", r.Close, h.close)
	}
	for _, f := range h.fields {
		name := string(f.name)
		if httpwire.EqualFold(f.name, "Host") {
			if r.Host != string(h.get(name)) {
				t.Errorf("Host: net/http %q, parseHead %q", r.Host, h.get(name))
			}
			continue
		}
		if got, want := r.Header.Get(name), string(h.get(name)); got != want {
			t.Errorf("%s: net/http %q, parseHead %q", name, got, want)
		}
		// All values of the name, in order.
		var want []string
		for _, g := range h.fields {
			if httpwire.EqualFold(g.name, name) {
				want = append(want, string(g.value))
			}
		}
		if got := r.Header[textproto.CanonicalMIMEHeaderKey(name)]; !slices.Equal(got, want) {
			t.Errorf("%s values: net/http %q, parseHead %q", name, got, want)
		}
	}
	if t.Failed() {
		t.Logf("input: %q", b)
	}
}

func sameHead(a, b *head) bool {
	if !bytes.Equal(a.method, b.method) || !bytes.Equal(a.target, b.target) || a.contentLength != b.contentLength ||
		a.close != b.close || a.size != b.size || len(a.fields) != len(b.fields) {
		return false
	}
	for i := range a.fields {
		if !bytes.Equal(a.fields[i].name, b.fields[i].name) || !bytes.Equal(a.fields[i].value, b.fields[i].value) {
			return false
		}
	}
	return true
}
