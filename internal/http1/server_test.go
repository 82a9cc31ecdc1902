package http1

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// testHandler claims POST /fast…. Most paths read the body and echo it
// with the target and X-Test; a few do something else (see ServeHTTP1).
type testHandler struct {
	limit   int64         // ReadBody's limit; 1 MiB when 0
	grace   time.Duration // ReadBody's grace; 1s when 0
	minRate int64         // ReadBody's floor rate; 1 MiB/s when 0

	entered chan struct{} // /fast/block: signalled when the handler starts
	release chan struct{} // /fast/block: the handler waits for it
}

func (h *testHandler) Claim(method, target []byte) bool {
	return string(method) == http.MethodPost && strings.HasPrefix(string(target), "/fast")
}

func (h *testHandler) ServeHTTP1(ctx context.Context, ex *Exchange) {
	w := ex.ResponseWriter()
	target := ex.Target()
	path, _, _ := strings.Cut(target, "?")
	switch {
	case path == "/fast/panic":
		panic("test handler panic")
	case path == "/fast/block":
		h.entered <- struct{}{}
		<-h.release
	case path == "/fast/noread":
		io.WriteString(w, "body left unread")
		return
	case path == "/fast/request":
		r, err := ex.Request()
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, err.Error())
			return
		}
		w.Header().Set("X-Host", r.Host)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Path", r.URL.Path)
		w.Header().Set("X-Test", r.Header.Get("X-Test"))
		w.Header().Set("X-Remote-Set", strconv.FormatBool(r.RemoteAddr != ""))
	case strings.HasPrefix(path, "/fast/resp/"):
		respCases[strings.TrimPrefix(path, "/fast/resp/")].write(w)
		return
	}
	limit, grace, minRate := orDefault(h.limit, 1<<20), orDefault(h.grace, time.Second), orDefault(h.minRate, 1<<20)
	sum := sha256.New()
	body, err := ex.ReadBody(limit, sum, grace, minRate)
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		io.WriteString(w, "ErrBodyTooLarge")
		return
	case errors.Is(err, ErrBodyTimeout):
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusRequestTimeout)
		io.WriteString(w, "ErrBodyTimeout")
		return
	case err != nil:
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, err.Error())
		return
	}
	if _, err := ex.ReadBody(limit, nil, grace, minRate); err == nil {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "ReadBody read a body twice")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Served-By", "http1")
	w.Header().Set("X-Target", target)
	w.Header().Set("X-Test", ex.Get("x-test"))
	w.Header().Set("X-Content-Length", strconv.FormatInt(ex.ContentLength(), 10))
	w.Header().Set("X-Body-Sha256", hex.EncodeToString(sum.Sum(nil)))
	fmt.Fprintf(w, "body=%s", body)
}

// orDefault returns v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// fallbackHandler is the net/http side: it answers like testHandler, but
// with X-Served-By: net/http.
func fallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := strings.CutPrefix(r.URL.Path, "/resp/"); ok {
			respCases[name].write(w)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Served-By", "net/http")
		w.Header().Set("X-Target", r.RequestURI)
		w.Header().Set("X-Test", r.Header.Get("X-Test"))
		w.Header().Set("X-Content-Length", strconv.FormatInt(r.ContentLength, 10))
		fmt.Fprintf(w, "body=%s", body)
	})
}

// testServer is a Server on a loopback listener with a net/http server
// serving its Fallback.
type testServer struct {
	srv      *Server
	addr     string
	accepted atomic.Int32 // connections accepted from the listener
	served   chan struct{}
	serveErr error // Serve's result, once served is closed
}

func startServer(t *testing.T, h Handler, opts Options) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{srv: New(h, opts), addr: ln.Addr().String(), served: make(chan struct{})}
	std := &http.Server{Handler: fallbackHandler(), MaxHeaderBytes: opts.MaxHeaderBytes, ErrorLog: log.New(io.Discard, "", 0)}
	stdDone := make(chan struct{})
	go func() {
		defer close(stdDone)
		_ = std.Serve(ts.srv.Fallback())
	}()
	go func() {
		defer close(ts.served)
		ts.serveErr = ts.srv.Serve(countingListener{ln, &ts.accepted})
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ts.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := std.Shutdown(ctx); err != nil {
			t.Errorf("net/http Shutdown: %v", err)
		}
		<-stdDone
		<-ts.served
		if !errors.Is(ts.serveErr, http.ErrServerClosed) {
			t.Errorf("Serve = %v, want http.ErrServerClosed", ts.serveErr)
		}
	})
	return ts
}

type countingListener struct {
	net.Listener
	n *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// rawClient writes requests as bytes and reads responses with net/http.
type rawClient struct {
	t *testing.T
	net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second)) // no test hangs
	t.Cleanup(func() { _ = c.Close() })
	return &rawClient{t: t, Conn: c, br: bufio.NewReader(c)}
}

func (c *rawClient) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.Conn, s); err != nil {
		c.t.Fatalf("writing request: %v", err)
	}
}

// response reads one response to a request with this method.
func (c *rawClient) response(method string) (*http.Response, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("reading response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("reading response body: %v", err)
	}
	return resp, string(body)
}

// roundTrip sends req and reads its response.
func (c *rawClient) roundTrip(req string) (*http.Response, string) {
	c.t.Helper()
	c.send(req)
	method, _, _ := strings.Cut(req, " ")
	return c.response(method)
}

// expectClosed waits up to a few seconds for the server to close the
// connection, with nothing more sent.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	b := make([]byte, 512)
	n, err := c.br.Read(b)
	switch {
	case n > 0:
		c.t.Errorf("read %q, want the connection closed", b[:n])
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.t.Errorf("connection still open after 3s")
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
	default:
		c.t.Errorf("read: %v, want EOF", err)
	}
}

func post(target, body string, fields ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: test\r\n", target)
	for _, f := range fields {
		b.WriteString(f + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

func get(target string, fields ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: test\r\n", target)
	for _, f := range fields {
		b.WriteString(f + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// expectServed checks who answered a response and its echoed body.
func expectServed(t *testing.T, resp *http.Response, body, by, wantBody string) {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d (%s), want 200", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-Served-By"); got != by {
		t.Errorf("served by %q, want %q", got, by)
	}
	if body != wantBody {
		t.Errorf("body %q, want %q", body, wantBody)
	}
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestClaimedRequestServedByHandlerWithKeepAlive(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{})
	tr := &http.Transport{MaxConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}

	var reused []bool
	for i := range 3 {
		payload := fmt.Sprintf("payload %d", i)
		target := "/fast/echo?i=" + strconv.Itoa(i)
		req, err := http.NewRequest(http.MethodPost, "http://"+ts.addr+target, strings.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Test", "abc")
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) }}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		expectServed(t, resp, string(b), "http1", "body="+payload)
		sum := sha256.Sum256([]byte(payload))
		for name, want := range map[string]string{
			"X-Body-Sha256":    hex.EncodeToString(sum[:]),
			"X-Target":         target,
			"X-Test":           "abc",
			"X-Content-Length": strconv.Itoa(len(payload)),
			"Content-Type":     "text/plain; charset=utf-8",
			"Content-Length":   strconv.Itoa(len(b)),
		} {
			if got := resp.Header.Get(name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		if resp.ContentLength != int64(len(b)) {
			t.Errorf("ContentLength = %d, want %d", resp.ContentLength, len(b))
		}
		date, err := http.ParseTime(resp.Header.Get("Date"))
		if err != nil {
			t.Errorf("Date %q: %v", resp.Header.Get("Date"), err)
		} else if d := time.Since(date); d < -time.Minute || d > time.Minute {
			t.Errorf("Date %v is not now", date)
		}
		if resp.Close {
			t.Errorf("response closes the connection")
		}
	}
	if !slices.Equal(reused, []bool{false, true, true}) {
		t.Errorf("connection reused per request: %v, want [false true true]", reused)
	}
	if n := ts.accepted.Load(); n != 1 {
		t.Errorf("server accepted %d connections, want 1", n)
	}
}

func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{})
	c := dialRaw(t, ts.addr)
	c.send(post("/fast/1", "one") + post("/fast/2", "two", "X-Test: second"))
	resp, body := c.response("POST")
	expectServed(t, resp, body, "http1", "body=one")
	if got := resp.Header.Get("X-Target"); got != "/fast/1" {
		t.Errorf("first response is for %q", got)
	}
	resp, body = c.response("POST")
	expectServed(t, resp, body, "http1", "body=two")
	if got := resp.Header.Get("X-Target"); got != "/fast/2" || resp.Header.Get("X-Test") != "second" {
		t.Errorf("second response is for %q, X-Test %q", got, resp.Header.Get("X-Test"))
	}
	// The connection is still kept.
	resp, body = c.roundTrip(post("/fast/3", "three"))
	expectServed(t, resp, body, "http1", "body=three")
	if n := ts.accepted.Load(); n != 1 {
		t.Errorf("server accepted %d connections, want 1", n)
	}
}

func TestUnclaimedRequestServedByNetHTTP(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{})
	for _, req := range []string{
		get("/other"),
		get("/fast/echo"),                 // method not claimed
		post("/slow", "abc", "X-Test: 1"), // target not claimed
	} {
		c := dialRaw(t, ts.addr)
		resp, body := c.roundTrip(req)
		wantBody := "body="
		if strings.HasPrefix(req, "POST") {
			wantBody = "body=abc"
		}
		expectServed(t, resp, body, "net/http", wantBody)
	}
}

// The first unclaimed request hands the connection to net/http, which
// then answers every request on it, claimed or not.
func TestUnclaimedRequestHandsConnectionToNetHTTP(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{})
	t.Run("one at a time", func(t *testing.T) {
		c := dialRaw(t, ts.addr)
		resp, body := c.roundTrip(post("/fast/1", "one"))
		expectServed(t, resp, body, "http1", "body=one")
		resp, body = c.roundTrip(post("/other", "two"))
		expectServed(t, resp, body, "net/http", "body=two")
		resp, body = c.roundTrip(post("/fast/3", "three"))
		expectServed(t, resp, body, "net/http", "body=three")
	})
	t.Run("pipelined", func(t *testing.T) {
		c := dialRaw(t, ts.addr)
		c.send(post("/fast/1", "one") + get("/other") + post("/fast/3", "three"))
		resp, body := c.response("POST")
		expectServed(t, resp, body, "http1", "body=one")
		resp, body = c.response("GET")
		expectServed(t, resp, body, "net/http", "body=")
		resp, body = c.response("POST")
		expectServed(t, resp, body, "net/http", "body=three")
	})
}

func TestDeclinedRequestsServedByNetHTTP(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{})
	for _, tt := range []struct{ name, req, wantBody string }{
		{"chunked body", "POST /fast/chunked HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "body=hello world"},
		{"bare LF line ends", "POST /fast/lf HTTP/1.1\nHost: test\nContent-Length: 2\n\nhi", "body=hi"},
		{"folded field", "POST /fast/fold HTTP/1.1\r\nHost: test\r\nX-Test: a\r\n b\r\nContent-Length: 2\r\n\r\nhi", "body=hi"},
		{"repeated equal Content-Length", "POST /fast/cl HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi", "body=hi"},
		{"65 fields", "POST /fast/many HTTP/1.1\r\nHost: test\r\n" + manyFields(63) + "Content-Length: 2\r\n\r\nhi", "body=hi"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, ts.addr)
			resp, body := c.roundTrip(tt.req)
			expectServed(t, resp, body, "net/http", tt.wantBody)
		})
	}

	t.Run("Expect 100-continue", func(t *testing.T) {
		c := dialRaw(t, ts.addr)
		c.send("POST /fast/expect HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		resp, _ := c.response("POST")
		if resp.StatusCode != http.StatusContinue {
			t.Fatalf("status %d before the body, want 100", resp.StatusCode)
		}
		c.send("hello")
		resp, body := c.response("POST")
		expectServed(t, resp, body, "net/http", "body=hello")
	})

	t.Run("HTTP/1.0", func(t *testing.T) {
		c := dialRaw(t, ts.addr)
		resp, body := c.roundTrip("POST /fast/old HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc")
		expectServed(t, resp, body, "net/http", "body=abc")
		c.expectClosed() // no keep-alive asked for
	})
}

func TestHeadOverMaxHeaderBytesGets431(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{MaxHeaderBytes: 1024})
	c := dialRaw(t, ts.addr)
	// Over net/http's limit, MaxHeaderBytes plus 4 KiB of slack.
	resp, body := c.roundTrip(post("/fast/big", "", "X-Big: "+strings.Repeat("a", 8000)))
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d (%q), want 431", resp.StatusCode, body)
	}
}

// A head over MaxHeaderBytes that arrives whole is not served here but
// by net/http, which answers 431.
func TestWholeHeadOverMaxHeaderBytesGets431(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{MaxHeaderBytes: 16 << 10})
	c := dialRaw(t, ts.addr)
	resp, body := c.roundTrip(post("/fast/big", "", "X-Big: "+strings.Repeat("a", 30000)))
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, served by %q (%q), want net/http's 431", resp.StatusCode, resp.Header.Get("X-Served-By"), body)
	}
}

func TestBodyOverLimitAnsweredAndClosed(t *testing.T) {
	ts := startServer(t, &testHandler{limit: 1024}, Options{})
	c := dialRaw(t, ts.addr)
	// A large body declared, and only the start of it sent.
	c.send("POST /fast/big HTTP/1.1\r\nHost: test\r\nContent-Length: 1048576\r\n\r\n" + strings.Repeat("x", 100))
	resp, body := c.response("POST")
	if resp.StatusCode != http.StatusRequestEntityTooLarge || body != "ErrBodyTooLarge" {
		t.Errorf("got %d %q, want 413 ErrBodyTooLarge", resp.StatusCode, body)
	}
	if !resp.Close { // net/http's reader drops the field once seen
		t.Errorf("response without Connection: close")
	}
	c.expectClosed()
}

func TestSlowBodyTimesOut(t *testing.T) {
	ts := startServer(t, &testHandler{grace: 100 * time.Millisecond, minRate: 1 << 20}, Options{})
	c := dialRaw(t, ts.addr)
	c.send("POST /fast/slow HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabc")
	resp, body := c.response("POST")
	if resp.StatusCode != http.StatusRequestTimeout || body != "ErrBodyTimeout" {
		t.Errorf("got %d %q, want 408 ErrBodyTimeout", resp.StatusCode, body)
	}
	if !resp.Close {
		t.Errorf("response without Connection: close")
	}
	c.expectClosed()
}

func TestBodyArrivingInPiecesIsRead(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{})
	for _, size := range []int{11, 100 << 10} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			payload := strings.Repeat("hello world", size/11+1)[:size]
			c := dialRaw(t, ts.addr)
			c.send(fmt.Sprintf("POST /fast/pieces HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n%s", size, payload[:5]))
			// The rest of the body with the next request after it.
			c.send(payload[5:] + post("/fast/next", "again"))
			resp, body := c.response("POST")
			expectServed(t, resp, body, "http1", "body="+payload)
			sum := sha256.Sum256([]byte(payload))
			if got, want := resp.Header.Get("X-Body-Sha256"), hex.EncodeToString(sum[:]); got != want {
				t.Errorf("ReadBody's hash %s, want %s", got, want)
			}
			resp, body = c.response("POST")
			expectServed(t, resp, body, "http1", "body=again")
		})
	}
}

func TestUnreadBodyClosesConnectionAfterResponse(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{})
	c := dialRaw(t, ts.addr)
	resp, body := c.roundTrip(post("/fast/noread", "abc"))
	if resp.StatusCode != http.StatusOK || body != "body left unread" {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
	if !resp.Close {
		t.Errorf("response without Connection: close")
	}
	c.expectClosed()
}

func TestClientConnectionCloseClosesConnection(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{})
	c := dialRaw(t, ts.addr)
	resp, body := c.roundTrip(post("/fast/bye", "x", "Connection: close"))
	expectServed(t, resp, body, "http1", "body=x")
	if !resp.Close { // net/http's reader drops the field once seen
		t.Errorf("response without Connection: close")
	}
	c.expectClosed()
}

func TestExchangeRequestParsesHeadAgain(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{})
	c := dialRaw(t, ts.addr)
	// After a first request, so that the head is not at the buffer's start.
	resp, body := c.roundTrip(post("/fast/first", "1"))
	expectServed(t, resp, body, "http1", "body=1")
	resp, body = c.roundTrip(post("/fast/request?q=1", "", "X-Test: from-request"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for name, want := range map[string]string{
		"X-Host": "test", "X-Method": "POST", "X-Path": "/fast/request", "X-Test": "from-request", "X-Remote-Set": "true",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestResponseHeaderCRLFWrittenAsSpaces(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{})
	c := dialRaw(t, ts.addr)
	resp, body := c.roundTrip(post("/fast/resp/crlf-in-value", ""))
	if got, want := resp.Header.Get("X-Injected"), "a  Set-Cookie: evil=1    x"; got != want {
		t.Errorf("X-Injected = %q, want %q", got, want)
	}
	if v, ok := resp.Header["Set-Cookie"]; ok {
		t.Errorf("injected Set-Cookie: %q", v)
	}
	if body != "body" {
		t.Errorf("body %q, want %q", body, "body")
	}
	// The connection is still in step.
	resp, body = c.roundTrip(post("/fast/next", "n"))
	expectServed(t, resp, body, "http1", "body=n")
}

func TestContentTypeSniffedWhenUnset(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{})
	c := dialRaw(t, ts.addr)
	resp, body := c.roundTrip(post("/fast/resp/sniff-html", ""))
	if got, want := resp.Header.Get("Content-Type"), http.DetectContentType([]byte(body)); got != want || want != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
}

// respCase is a handler's way of writing a response, run by both servers.
type respCase struct {
	write  func(w http.ResponseWriter)
	ignore []string // fields the servers may write differently
}

var respCases = map[string]respCase{
	"text": {write: func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello")
	}},
	"sniff-html":   {write: func(w http.ResponseWriter) { io.WriteString(w, "<!DOCTYPE html><html><body>hi</body></html>") }},
	"sniff-binary": {write: func(w http.ResponseWriter) { w.Write([]byte{0, 1, 2, 3}) }},
	"empty":        {write: func(w http.ResponseWriter) {}},
	"status-only":  {write: func(w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound) }},
	"status-and-body": {write: func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "short and stout")
	}},
	"write-header-twice": {write: func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusCreated)
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "x")
	}},
	"crlf-in-value": {write: func(w http.ResponseWriter) {
		w.Header().Set("X-Injected", "a\r\nSet-Cookie: evil=1\r\n\r\nx")
		io.WriteString(w, "body")
	}},
	"multi-value": {write: func(w http.ResponseWriter) {
		w.Header().Add("X-Multi", "1")
		w.Header().Add("X-Multi", "2")
		io.WriteString(w, "m")
	}},
	"large-body": {write: func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strings.Repeat("0123456789", 4000))
	}, ignore: []string{"Content-Length"}}, // net/http chunks it
	"handler-connection-close": {write: func(w http.ResponseWriter) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	}},
	"content-encoding": {write: func(w http.ResponseWriter) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"))
	}},
	"no-content": {write: func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusNoContent)
		io.WriteString(w, "not sent")
	}},
	"invalid-field-name": {write: func(w http.ResponseWriter) {
		w.Header()["X-Bad\r\nX-Injected"] = []string{"1"}
		io.WriteString(w, "x")
	}},
	"header-after-write": {write: func(w http.ResponseWriter) {
		io.WriteString(w, "early")
		w.Header().Set("X-Late", "1")
	}},
}

// Each way of writing a response comes out of this server as net/http
// writes it: status, body, fields (but Date), and whether it closes.
func TestResponsesMatchNetHTTP(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{})
	for _, name := range slices.Sorted(maps.Keys(respCases)) {
		rc := respCases[name]
		t.Run(name, func(t *testing.T) {
			fetch := func(req string) (*http.Response, string, error) {
				c := dialRaw(t, ts.addr)
				c.send(req)
				resp, err := http.ReadResponse(c.br, nil)
				if err != nil {
					return nil, "", err
				}
				b, err := io.ReadAll(resp.Body)
				return resp, string(b), err
			}
			want, wantBody, err := fetch(get("/resp/" + name))
			if err != nil {
				t.Fatalf("net/http's response: %v", err)
			}
			got, gotBody, err := fetch(post("/fast/resp/"+name, ""))
			if err != nil {
				t.Fatalf("reading this server's response: %v", err)
			}
			if got.StatusCode != want.StatusCode {
				t.Errorf("status %d, net/http %d", got.StatusCode, want.StatusCode)
			}
			if gotBody != wantBody {
				t.Errorf("body %q, net/http %q", gotBody, wantBody)
			}
			if got.Close != want.Close {
				t.Errorf("Close %v, net/http %v", got.Close, want.Close)
			}
			for _, k := range append([]string{"Date"}, rc.ignore...) {
				delete(got.Header, k)
				delete(want.Header, k)
			}
			for _, k := range slices.Sorted(maps.Keys(want.Header)) {
				if !slices.Equal(got.Header[k], want.Header[k]) {
					t.Errorf("%s: %q, net/http %q", k, got.Header[k], want.Header[k])
				}
			}
			for _, k := range slices.Sorted(maps.Keys(got.Header)) {
				if _, ok := want.Header[k]; !ok {
					t.Errorf("%s: %q, net/http sends none", k, got.Header[k])
				}
			}
		})
	}
}

func TestHandlerPanicClosesOnlyItsConnection(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{})
	other := dialRaw(t, ts.addr)
	resp, body := other.roundTrip(post("/fast/before", "1"))
	expectServed(t, resp, body, "http1", "body=1")

	c := dialRaw(t, ts.addr)
	c.send(post("/fast/panic", ""))
	c.expectClosed()

	// The kept-alive connection and new ones are still served.
	resp, body = other.roundTrip(post("/fast/after", "2"))
	expectServed(t, resp, body, "http1", "body=2")
	resp, body = dialRaw(t, ts.addr).roundTrip(post("/fast/new", "3"))
	expectServed(t, resp, body, "http1", "body=3")
}

func TestShutdownClosesIdleConnection(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{})
	c := dialRaw(t, ts.addr)
	resp, body := c.roundTrip(post("/fast/1", "one"))
	expectServed(t, resp, body, "http1", "body=one")

	// Without closing the idle connection, Shutdown would wait out ctx.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v, want nil", err)
	}
	c.expectClosed()
	recv(t, ts.served, "Serve to return")
	if !errors.Is(ts.serveErr, http.ErrServerClosed) {
		t.Errorf("Serve = %v, want http.ErrServerClosed", ts.serveErr)
	}
}

func TestShutdownWaitsForRequestInFlight(t *testing.T) {
	h := &testHandler{entered: make(chan struct{}, 1), release: make(chan struct{})}
	ts := startServer(t, h, Options{})
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(h.release) }) }
	t.Cleanup(release)

	c := dialRaw(t, ts.addr)
	c.send(post("/fast/block", "in flight"))
	recv(t, h.entered, "the handler to start")

	shutdownErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shutdownErr <- ts.srv.Shutdown(ctx)
	}()
	// Serve returns once Shutdown has closed the listener.
	recv(t, ts.served, "Serve to return")
	if !errors.Is(ts.serveErr, http.ErrServerClosed) {
		t.Errorf("Serve = %v, want http.ErrServerClosed", ts.serveErr)
	}
	if nc, err := net.Dial("tcp", ts.addr); err == nil {
		nc.Close()
		t.Errorf("new connection accepted during shutdown")
	}
	select {
	case err := <-shutdownErr:
		t.Fatalf("Shutdown returned (%v) while a request was in flight", err)
	default:
	}

	release()
	resp, body := c.response("POST")
	expectServed(t, resp, body, "http1", "body=in flight")
	if !resp.Close {
		t.Errorf("response during shutdown without Connection: close")
	}
	if err := recv(t, shutdownErr, "Shutdown to return"); err != nil {
		t.Errorf("Shutdown = %v, want nil", err)
	}
	c.expectClosed()
}

func TestIdleTimeoutClosesConnection(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{IdleTimeout: 50 * time.Millisecond})
	t.Run("after a request", func(t *testing.T) {
		c := dialRaw(t, ts.addr)
		resp, body := c.roundTrip(post("/fast/1", "one"))
		expectServed(t, resp, body, "http1", "body=one")
		c.expectClosed()
	})
	t.Run("before any request", func(t *testing.T) {
		dialRaw(t, ts.addr).expectClosed()
	})
	t.Run("after many requests", func(t *testing.T) {
		c := dialRaw(t, ts.addr)
		for i := 0; i < 20; i++ {
			resp, body := c.roundTrip(post("/fast/1", "one"))
			expectServed(t, resp, body, "http1", "body=one")
		}
		c.expectClosed()
	})
}

// The head timer of a request that came in pieces does not outlive it: the
// connection then waits the idle timeout for the next request.
func TestIdleTimeoutAfterHeadTimer(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{HeaderTimeout: 50 * time.Millisecond, IdleTimeout: 5 * time.Second})
	c := dialRaw(t, ts.addr)
	sendHeadInPieces(t, c)
	time.Sleep(200 * time.Millisecond) // well past the head timer, well within the idle timeout
	resp2, body2 := c.roundTrip(post("/fast/1", "two"))
	expectServed(t, resp2, body2, "http1", "body=two")
}

// sendHeadInPieces sends a request whose head comes in two writes 10 ms
// apart, so that its head timer starts, and checks its answer.
func sendHeadInPieces(t *testing.T, c *rawClient) {
	t.Helper()
	req := post("/fast/1", "one")
	c.send(req[:10])
	time.Sleep(10 * time.Millisecond)
	c.send(req[10:])
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	expectServed(t, resp, string(body), "http1", "body=one")
}

// Nor, when the head timer is the longer, does it stand in for the idle
// timeout.
func TestIdleTimeoutAfterLongerHeadTimer(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{HeaderTimeout: time.Minute, IdleTimeout: 50 * time.Millisecond})
	c := dialRaw(t, ts.addr)
	sendHeadInPieces(t, c)
	c.expectClosed() // within 3 s: the idle timeout, not the head timer's minute
}

func TestHeaderTimeoutClosesConnection(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{HeaderTimeout: 100 * time.Millisecond})
	c := dialRaw(t, ts.addr)
	c.send("POST /fast/1 HTTP/1.1\r\nHost: te")
	c.expectClosed()
}

// A head net/http reads as whole, with a bare LF before the final CRLF, is
// answered by net/http, not left waiting for a blank line that never
// comes.
func TestBareLFBeforeFinalCRLFAnsweredByNetHTTP(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{HeaderTimeout: 300 * time.Millisecond})
	c := dialRaw(t, ts.addr)
	c.send("POST /fast/lf HTTP/1.1\r\nHost: test\r\nContent-Length: 0\n\r\n")
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	if resp.Header.Get("X-Served-By") != "net/http" {
		t.Errorf("served by %q, want net/http", resp.Header.Get("X-Served-By"))
	}
}

// Requests net/http refuses with 400 must not reach the handler.
func TestRequestsNetHTTPRefusesAreNotServedByHandler(t *testing.T) {
	ts := startServer(t, &testHandler{}, Options{})
	for _, tt := range []struct{ name, req string }{
		{name: "control character in a value", req: post("/fast/x", "", "X-Test: a\x01b")},
		{name: "different Content-Lengths", req: "POST /fast/x HTTP/1.1\r\nHost: test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
		{name: "negative Content-Length", req: "POST /fast/x HTTP/1.1\r\nHost: test\r\nContent-Length: -1\r\n\r\n"},
		{name: "missing Host", req: "POST /fast/x HTTP/1.1\r\nContent-Length: 0\r\n\r\n"},
		{name: "two Host fields", req: post("/fast/x", "", "Host: other")},
		{name: "invalid escape in the path", req: post("/fast/%zz", "")},
		{name: "malformed Host", req: "POST /fast/x HTTP/1.1\r\nHost: a b\r\nContent-Length: 0\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, ts.addr)
			resp, body := c.roundTrip(tt.req)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Served-By") != "" {
				t.Errorf("status %d served by %q (%q), want net/http's 400", resp.StatusCode, resp.Header.Get("X-Served-By"), body)
			}
		})
	}
}
