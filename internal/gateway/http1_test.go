package gateway_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// Every InvokeEndpoint answer is the same whichever server reads the
// request: the invocation route's own (as hearth serve runs) or net/http
// alone. Status, body and every header but Date and the request id.
func TestInvocationAnswersMatchNetHTTP(t *testing.T) {
	e := newBenchEnv(t)
	e.deploy(t, "ep", 2, 1)
	for _, tc := range []struct {
		name, path, body string
		header           map[string]string
		served           bool
	}{
		{"served", "/endpoints/ep/invocations", "1,2,3", map[string]string{"Content-Type": "text/csv", "Accept": "application/json"}, true},
		{"no content type", "/endpoints/ep/invocations", "1,2,3", nil, true},
		{"custom attributes and inference id", "/endpoints/ep/invocations", "x",
			map[string]string{"X-Amzn-SageMaker-Custom-Attributes": "a=b", "X-Amzn-SageMaker-Inference-Id": "id-1"}, true},
		{"empty body", "/endpoints/ep/invocations", "", nil, true},
		{"query string", "/endpoints/ep/invocations?x=1", "x", nil, true},
		{"escaped name", "/endpoints/%65p/invocations", "x", nil, true},
		{"model error", "/endpoints/ep/invocations", "status 500", nil, false},
		{"model client error", "/endpoints/ep/invocations", "status 404", nil, false},
		{"unknown variant", "/endpoints/ep/invocations", "x", map[string]string{"X-Amzn-SageMaker-Target-Variant": "Nope"}, false},
		{"custom attributes too long", "/endpoints/ep/invocations", "x", map[string]string{"X-Amzn-SageMaker-Custom-Attributes": strings.Repeat("a", 1025)}, false},
		{"inference id too long", "/endpoints/ep/invocations", "x", map[string]string{"X-Amzn-SageMaker-Inference-Id": strings.Repeat("a", 65)}, false},
		{"no such endpoint", "/endpoints/nope/invocations", "x", nil, false},
		{"invalid name", "/endpoints/-x/invocations", "x", nil, false},
		{"name too long", "/endpoints/" + strings.Repeat("a", 64) + "/invocations", "x", nil, false},
		{"doubly escaped name", "/endpoints/%2565/invocations", "x", nil, false},
		{"unsupported operation", "/endpoints/ep/async-invocations", "x", nil, false},
		{"no operation", "/endpoints/ep", "x", nil, false},
		{"JSON 1.0 error", "/endpoints/nope/invocations", "x", map[string]string{"Content-Type": "application/x-amz-json-1.0"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fast := exchange(t, e.url+tc.path, tc.body, tc.header)
			std := exchange(t, e.stdURL+tc.path, tc.body, tc.header)
			if (fast.status == 200) != tc.served {
				t.Fatalf("status %d: %s", fast.status, fast.body)
			}
			if fast.status != std.status || fast.body != std.body {
				t.Fatalf("http1: %d %s\nnet/http: %d %s", fast.status, fast.body, std.status, std.body)
			}
			for _, h := range []http.Header{fast.header, std.header} {
				if h.Get("Date") == "" || h.Get("X-Amzn-Requestid") == "" {
					t.Fatalf("no Date or request id: %v", h)
				}
				h.Del("Date")
				h.Del("X-Amzn-Requestid")
			}
			if !headersEqual(fast.header, std.header) {
				t.Fatalf("headers differ:\nhttp1:    %v\nnet/http: %v", fast.header, std.header)
			}
		})
	}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func exchange(t *testing.T, url, body string, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
