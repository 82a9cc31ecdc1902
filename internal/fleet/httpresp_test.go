package fleet

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

func parse(t testing.TB, raw string, limit int) (Response, bool, bool, error, *bufio.Reader) {
	br := bufio.NewReaderSize(strings.NewReader(raw), 16<<10)
	var c headerCache
	resp, tooLarge, keep, err := readWorkerResponse(br, limit, &c)
	return resp, tooLarge, keep, err, br
}

func TestWorkerResponseParsing(t *testing.T) {
	cases := []struct {
		name, raw       string
		status          int
		ct, attrs, body string
		tooLarge, keep  bool
		fail            bool
		rest            string // what must be left unread
	}{
		{name: "content-length", raw: "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: 5\r\n\r\nhelloNEXT", status: 200, ct: "text/csv", body: "hello", keep: true, rest: "NEXT"},
		{name: "case-insensitive names, spaces trimmed", raw: "HTTP/1.1 200 OK\r\ncontent-type:   application/json  \r\nx-amzn-sagemaker-custom-attributes: a=1\r\nCONTENT-LENGTH: 2\r\n\r\n{}", status: 200, ct: "application/json", attrs: "a=1", body: "{}", keep: true},
		{name: "bare LF lines", raw: "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", status: 200, body: "x", keep: true},
		{name: "no reason phrase", raw: "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", status: 404, keep: true},
		{name: "chunked with extensions and trailer", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n7\r\n0123456\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT", status: 200, body: "abc0123456", keep: true, rest: "NEXT"},
		{name: "chunked wins over content-length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", status: 200, body: "ok", keep: true},
		{name: "connection close", raw: "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 4\r\n\r\noops", status: 500, body: "oops"},
		{name: "HTTP/1.0 closes", raw: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok"},
		{name: "HTTP/1.0 keep-alive", raw: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok", keep: true},
		{name: "body to EOF", raw: "HTTP/1.1 200 OK\r\n\r\nall of it", status: 200, body: "all of it"},
		{name: "204 has no body", raw: "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nNEXT", status: 204, keep: true, rest: "NEXT"},
		{name: "100 Continue first", raw: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", status: 200, body: "x", keep: true},
		{name: "over the limit by length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world", status: 200, tooLarge: true},
		{name: "over the limit chunked", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n", status: 200, tooLarge: true},
		{name: "over the limit to EOF", raw: "HTTP/1.1 200 OK\r\n\r\nhello world", status: 200, tooLarge: true},
		{name: "conflicting lengths", raw: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", fail: true},
		{name: "negative length", raw: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", fail: true},
		{name: "huge length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", fail: true},
		{name: "short body", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", fail: true},
		{name: "not HTTP", raw: "SSH-2.0-OpenSSH\r\n\r\n", fail: true},
		{name: "HTTP/2 status line", raw: "HTTP/2 200\r\n\r\n", fail: true},
		{name: "bad status", raw: "HTTP/1.1 2x0 OK\r\n\r\n", fail: true},
		{name: "folded header", raw: "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\n continued\r\nContent-Length: 0\r\n\r\n", fail: true},
		{name: "header without colon", raw: "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", fail: true},
		{name: "gzip transfer-encoding", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", fail: true},
		{name: "bad chunk size", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", fail: true},
		{name: "chunk without CRLF", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX0\r\n\r\n", fail: true},
		{name: "truncated head", raw: "HTTP/1.1 200 OK\r\nContent-Le", fail: true},
		{name: "empty", raw: "", fail: true},
		{name: "head over 64 KiB", raw: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 1000)+"\r\n", 70) + "\r\n", fail: true},
		{name: "one line over the buffer", raw: "HTTP/1.1 200 OK\r\nX-Pad: " + strings.Repeat("p", 20<<10) + "\r\n\r\n", fail: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, tooLarge, keep, err, br := parse(t, c.raw, 10)
			if c.fail {
				if err == nil {
					t.Fatalf("parsed %+v, want an error", resp)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != c.status || tooLarge != c.tooLarge || keep != c.keep {
				t.Fatalf("status %d tooLarge %v keep %v, want %d %v %v", resp.Status, tooLarge, keep, c.status, c.tooLarge, c.keep)
			}
			if !c.tooLarge && (string(resp.Body) != c.body || resp.ContentType != c.ct || resp.CustomAttributes != c.attrs) {
				t.Fatalf("body %q type %q attrs %q, want %q %q %q", resp.Body, resp.ContentType, resp.CustomAttributes, c.body, c.ct, c.attrs)
			}
			if c.rest != "" {
				if rest, _ := io.ReadAll(br); string(rest) != c.rest {
					t.Fatalf("left %q unread, want %q", rest, c.rest)
				}
			}
		})
	}
}

// The header values of a connection's responses are kept across them: a
// worker that answers the same way each time costs the body's allocation
// only.
func TestWorkerResponseAllocatesOnlyTheBody(t *testing.T) {
	raw := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/csv; charset=utf-8\r\nDate: Wed, 02 Dec 2026 10:00:00 GMT\r\nContent-Length: 17\r\n\r\n9.316294670104980")
	rd := bytes.NewReader(raw)
	br := bufio.NewReaderSize(rd, 16<<10)
	var c headerCache
	allocs := testing.AllocsPerRun(100, func() {
		rd.Reset(raw)
		br.Reset(rd)
		resp, _, _, err := readWorkerResponse(br, 1<<20, &c)
		if err != nil || resp.Status != 200 || resp.ContentType != "text/csv; charset=utf-8" {
			t.Fatalf("%v %+v", err, resp)
		}
	})
	if allocs > 1 {
		t.Fatalf("%.0f allocations per response, want 1 (the body)", allocs)
	}
}

// FuzzWorkerResponse: any bytes parse or fail without panicking, a body
// never exceeds the limit, and whatever parses is what net/http reads from
// the same bytes.
func FuzzWorkerResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.0 500 Oops\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nno",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\nto the end",
		"HTTP/1.1 200\nX-Amzn-SageMaker-Custom-Attributes: k=v\nContent-Length: 0\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		const limit = 64
		br := bufio.NewReaderSize(bytes.NewReader(raw), 16<<10)
		var c headerCache
		resp, tooLarge, _, err := readWorkerResponse(br, limit, &c)
		if err != nil || tooLarge {
			return
		}
		if len(resp.Body) > limit {
			t.Fatalf("body of %d bytes over the %d limit", len(resp.Body), limit)
		}
		hr, herr := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
		if herr != nil || hr.StatusCode < 200 {
			return // net/http is stricter about some heads, and hands 1xx answers back
		}
		defer hr.Body.Close()
		hb, berr := io.ReadAll(io.LimitReader(hr.Body, limit+1))
		if berr != nil {
			return
		}
		if hr.StatusCode != resp.Status || !bytes.Equal(hb, resp.Body) {
			t.Fatalf("parsed status %d body %q; net/http: %d %q", resp.Status, resp.Body, hr.StatusCode, hb)
		}
	})
}

// BenchmarkWorkerResponse reads a typical worker answer with the fleet's
// parser and, as the baseline, with net/http's ReadResponse and a body
// read (what the fleet used before).
func BenchmarkWorkerResponse(b *testing.B) {
	raw := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/csv; charset=utf-8\r\nDate: Wed, 02 Dec 2026 10:00:00 GMT\r\nContent-Length: 17\r\n\r\n9.316294670104980")
	rd := bytes.NewReader(raw)
	br := bufio.NewReaderSize(rd, 16<<10)
	b.Run("hearth", func(b *testing.B) {
		var c headerCache
		b.ReportAllocs()
		for b.Loop() {
			rd.Reset(raw)
			br.Reset(rd)
			if _, _, _, err := readWorkerResponse(br, 1<<20, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("net-http", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rd.Reset(raw)
			br.Reset(rd)
			hr, err := http.ReadResponse(br, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadAll(io.LimitReader(hr.Body, 1<<20)); err != nil {
				b.Fatal(err)
			}
			_ = hr.Header.Get("Content-Type")
		}
	})
}
