package http1

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// invokeHead is an InvokeEndpoint request as the AWS SDK for Go v2 sends it.
const invokeHead = "POST /endpoints/my-endpoint/invocations HTTP/1.1\r\n" +
	"Host: runtime.sagemaker.us-east-1.amazonaws.com\r\n" +
	"User-Agent: aws-sdk-go-v2/1.36.3 ua/2.1 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/sagemakerruntime#1.34.1\r\n" +
	"Content-Length: 13\r\n" +
	"Accept: application/json\r\n" +
	"Amz-Sdk-Invocation-Id: 0b3c5c8e-6e0e-4c55-9a35-5b1e2f0d8c11\r\n" +
	"Amz-Sdk-Request: attempt=1; max=3\r\n" +
	"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/sagemaker/aws4_request, " +
	"SignedHeaders=accept;amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date, " +
	"Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7\r\n" +
	"Content-Type: application/json\r\n" +
	"X-Amz-Date: 20250101T000000Z\r\n" +
	"Accept-Encoding: gzip\r\n" +
	"\r\n"

// manyFields returns n header lines "X-Fi: v\r\n".
func manyFields(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "X-F%d: v\r\n", i)
	}
	return b.String()
}

func TestParseHeadAcceptsPlainRequests(t *testing.T) {
	tests := []struct {
		name           string
		head, rest     string // the input is head+rest; h.size must be len(head)
		method, target string
		contentLength  int64
		close          bool
		fields         map[string]string // looked up with h.get, any case
	}{
		{
			name: "AWS SDK InvokeEndpoint with its body after the head",
			head: invokeHead, rest: `{"inputs":42}`,
			method: "POST", target: "/endpoints/my-endpoint/invocations", contentLength: 13,
			fields: map[string]string{
				"content-type":    "application/json",
				"X-AMZ-DATE":      "20250101T000000Z",
				"authorization":   "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/sagemaker/aws4_request, SignedHeaders=accept;amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
				"Host":            "runtime.sagemaker.us-east-1.amazonaws.com",
				"amz-sdk-request": "attempt=1; max=3",
			},
		},
		{
			name:   "minimal GET without a body",
			head:   "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			method: "GET", target: "/",
			fields: map[string]string{"host": "a"},
		},
		{
			name:   "pipelined second request left untouched",
			head:   "POST /fast/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n",
			rest:   "abcPOST /fast/2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
			method: "POST", target: "/fast/1", contentLength: 3,
		},
		{
			name:   "target with query kept as on the wire",
			head:   "POST /endpoints/x/invocations?a=b%20c&d HTTP/1.1\r\nHost: a\r\n\r\n",
			method: "POST", target: "/endpoints/x/invocations?a=b%20c&d",
		},
		{
			name:   "Connection: close",
			head:   "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
			method: "GET", target: "/", close: true,
		},
		{
			name:   "close token in a list, any case",
			head:   "GET / HTTP/1.1\r\nHost: a\r\nconnection: keep-alive ,\tCLOSE\r\n\r\n",
			method: "GET", target: "/", close: true,
		},
		{
			name:   "close in a second Connection field",
			head:   "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
			method: "GET", target: "/", close: true,
			fields: map[string]string{"connection": "keep-alive"},
		},
		{
			name:   "Connection: closed is not close",
			head:   "GET / HTTP/1.1\r\nHost: a\r\nConnection: closed, keep-alive\r\n\r\n",
			method: "GET", target: "/",
		},
		{
			name:   "Content-Length with OWS and leading zeros",
			head:   "PUT /x HTTP/1.1\r\nHost: a\r\ncontent-length: \t007 \r\n\r\n",
			method: "PUT", target: "/x", contentLength: 7,
			fields: map[string]string{"Content-Length": "007"},
		},
		{
			name:   "Content-Length of 18 digits",
			head:   "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999999999\r\n\r\n",
			method: "POST", target: "/x", contentLength: 999999999999999999,
		},
		{
			name:   "first of repeated fields wins, names case-insensitive",
			head:   "GET / HTTP/1.1\r\nHost: a\r\nx-test: one\r\nX-TEST: two\r\n\r\n",
			method: "GET", target: "/",
			fields: map[string]string{"X-Test": "one"},
		},
		{
			name:   "empty value, tab inside a value, obs-text",
			head:   "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab: a\tb\r\nX-Obs: caf\xc3\xa9\r\n\r\n",
			method: "GET", target: "/",
			fields: map[string]string{"x-empty": "", "x-tab": "a\tb", "X-Obs": "caf\xc3\xa9"},
		},
		{
			name:   "any token method",
			head:   "M-SEARCH /x HTTP/1.1\r\nHost: a\r\n\r\n",
			method: "M-SEARCH", target: "/x",
		},
		{
			name:   "64 fields, the limit",
			head:   "GET / HTTP/1.1\r\nHost: a\r\n" + manyFields(63) + "\r\n",
			method: "GET", target: "/",
			fields: map[string]string{"x-f62": "v"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.head + tt.rest)
			var h head
			if err := parseHead(in, &h); err != nil {
				t.Fatalf("parseHead = %v, want nil", err)
			}
			if got := string(h.method); got != tt.method {
				t.Errorf("method = %q, want %q", got, tt.method)
			}
			if got := string(h.target); got != tt.target {
				t.Errorf("target = %q, want %q", got, tt.target)
			}
			if h.contentLength != tt.contentLength {
				t.Errorf("contentLength = %d, want %d", h.contentLength, tt.contentLength)
			}
			if h.close != tt.close {
				t.Errorf("close = %v, want %v", h.close, tt.close)
			}
			if h.size != len(tt.head) {
				t.Errorf("size = %d, want %d", h.size, len(tt.head))
			}
			if got := string(in[h.size:]); got != tt.rest {
				t.Errorf("bytes after the head = %q, want %q", got, tt.rest)
			}
			for name, want := range tt.fields {
				v := h.get(name)
				if v == nil {
					t.Errorf("get(%q) = nil, want %q", name, want)
				} else if string(v) != want {
					t.Errorf("get(%q) = %q, want %q", name, v, want)
				}
			}
			if v := h.get("X-Absent"); v != nil {
				t.Errorf("get(X-Absent) = %q, want nil", v)
			}
		})
	}
}

func TestParseHeadResetsReusedHead(t *testing.T) {
	var h head
	first := "POST /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 5\r\nX-Old: 1\r\n\r\n"
	if err := parseHead([]byte(first), &h); err != nil {
		t.Fatal(err)
	}
	second := "GET /b HTTP/1.1\r\nHost: b\r\n\r\n"
	if err := parseHead([]byte(second), &h); err != nil {
		t.Fatal(err)
	}
	if h.close || h.contentLength != 0 || len(h.fields) != 1 || h.get("X-Old") != nil || h.size != len(second) {
		t.Errorf("state of the first head leaked into the second: close=%v contentLength=%d fields=%d X-Old=%q size=%d",
			h.close, h.contentLength, len(h.fields), h.get("X-Old"), h.size)
	}
}

func TestParseHeadIncomplete(t *testing.T) {
	for _, in := range []string{
		"",
		"P",
		"POST /endpoints/x/invocations HTTP/1.1",
		"POST /endpoints/x/invocations HTTP/1.1\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\n\r",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n",
		invokeHead[:len(invokeHead)-1],
	} {
		var h head
		if err := parseHead([]byte(in), &h); !errors.Is(err, errIncomplete) {
			t.Errorf("parseHead(%q) = %v, want errIncomplete", in, err)
		}
	}
}

func TestParseHeadDeclines(t *testing.T) {
	const host = "Host: a\r\n"
	tests := []struct{ name, in string }{
		{"HTTP/1.0", "POST /x HTTP/1.0\r\n" + host + "\r\n"},
		{"HTTP/2.0 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
		{"lower-case version", "GET / http/1.1\r\n" + host + "\r\n"},
		{"no version", "GET /\r\n" + host + "\r\n"},
		{"space after version", "GET / HTTP/1.1 \r\n" + host + "\r\n"},
		{"two spaces after method", "GET  / HTTP/1.1\r\n" + host + "\r\n"},
		{"empty line before request", "\r\nGET / HTTP/1.1\r\n" + host + "\r\n"},
		{"bad method char", "GE(T / HTTP/1.1\r\n" + host + "\r\n"},
		{"asterisk target", "OPTIONS * HTTP/1.1\r\n" + host + "\r\n"},
		{"absolute-form target", "GET http://a/x HTTP/1.1\r\n" + host + "\r\n"},
		{"non-ASCII target", "GET /caf\xc3\xa9 HTTP/1.1\r\n" + host + "\r\n"},
		{"Transfer-Encoding", "POST /x HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n"},
		{"Transfer-Encoding any case", "POST /x HTTP/1.1\r\n" + host + "transfer-encoding: identity\r\n\r\n"},
		{"Transfer-Encoding with Content-Length", "POST /x HTTP/1.1\r\n" + host + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"Expect", "POST /x HTTP/1.1\r\n" + host + "Content-Length: 3\r\nExpect: 100-continue\r\n\r\n"},
		{"Upgrade", "GET /x HTTP/1.1\r\n" + host + "Upgrade: websocket\r\n\r\n"},
		{"Connection: upgrade", "GET /x HTTP/1.1\r\n" + host + "Connection: keep-alive, Upgrade\r\n\r\n"},
		{"folded line", "GET /x HTTP/1.1\r\n" + host + "X-Test: a\r\n b\r\n\r\n"},
		{"folded line with tab", "GET /x HTTP/1.1\r\n" + host + "X-Test: a\r\n\tb\r\n\r\n"},
		{"bare LF throughout", "GET /x HTTP/1.1\nHost: a\n\n"},
		{"bare LF at the end", "GET /x HTTP/1.1\r\nHost: a\r\n\n"},
		{"bare LF in the middle", "GET /x HTTP/1.1\nHost: a\r\n\r\n"},
		{"bare CR in a value", "GET /x HTTP/1.1\r\n" + host + "X-Test: a\rb\r\n\r\n"},
		{"NUL in a value", "GET /x HTTP/1.1\r\n" + host + "X-Test: a\x00b\r\n\r\n"},
		{"DEL in a value", "GET /x HTTP/1.1\r\n" + host + "X-Test: a\x7fb\r\n\r\n"},
		{"space in a name", "GET /x HTTP/1.1\r\n" + host + "X Test: a\r\n\r\n"},
		{"space before the colon", "GET /x HTTP/1.1\r\n" + host + "X-Test : a\r\n\r\n"},
		{"bad name char", "GET /x HTTP/1.1\r\n" + host + "X@Test: a\r\n\r\n"},
		{"empty name", "GET /x HTTP/1.1\r\n" + host + ": a\r\n\r\n"},
		{"no colon", "GET /x HTTP/1.1\r\n" + host + "X-Test\r\n\r\n"},
		{"duplicate Content-Length", "POST /x HTTP/1.1\r\n" + host + "Content-Length: 3\r\nContent-Length: 4\r\n\r\n"},
		{"duplicate equal Content-Length", "POST /x HTTP/1.1\r\n" + host + "Content-Length: 3\r\ncontent-length: 3\r\n\r\n"},
		{"Content-Length list", "POST /x HTTP/1.1\r\n" + host + "Content-Length: 3, 3\r\n\r\n"},
		{"negative Content-Length", "POST /x HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n"},
		{"signed Content-Length", "POST /x HTTP/1.1\r\n" + host + "Content-Length: +1\r\n\r\n"},
		{"empty Content-Length", "POST /x HTTP/1.1\r\n" + host + "Content-Length:\r\n\r\n"},
		{"19-digit Content-Length", "POST /x HTTP/1.1\r\n" + host + "Content-Length: 1000000000000000000\r\n\r\n"},
		{"65 fields", "GET / HTTP/1.1\r\n" + host + manyFields(64) + "\r\n"},
		{"missing Host", "POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h head
			if err := parseHead([]byte(tt.in), &h); !errors.Is(err, errDecline) {
				t.Errorf("parseHead(%q) = %v, want errDecline", tt.in, err)
			}
		})
	}
}

// A head whose last field line ends in a bare LF and whose blank line is a
// CRLF is whole to net/http, which answers it: parseHead declines it
// rather than wait for a CRLF CRLF that will never come.
func TestParseHeadDeclinesBareLFBeforeFinalCRLF(t *testing.T) {
	for _, in := range []string{
		"GET /x HTTP/1.1\r\nHost: a\n\r\n",
		"GET /x HTTP/1.1\nHost: a\n\r\n",
	} {
		var h head
		if err := parseHead([]byte(in), &h); !errors.Is(err, errDecline) {
			t.Errorf("parseHead(%q) = %v, want errDecline", in, err)
		}
	}
}
