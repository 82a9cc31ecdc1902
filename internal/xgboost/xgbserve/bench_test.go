package xgbserve

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchmarkInvocations sends one text/csv request of n abalone rows through
// the handler (no network) per iteration, answered as text/csv.
func benchmarkInvocations(b *testing.B, n int) {
	h := NewHandler(seedModel(b), env())
	input, err := os.ReadFile(filepath.Join(testdata, "abalone-regression", "input.csv"))
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(input)), "\n")
	var body []byte
	if n == 1 {
		body = []byte(seedPayload)
	} else {
		for i := range n {
			body = append(body, lines[i%len(lines)]...)
			body = append(body, '\n')
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/invocations", nil)
	req.Header.Set("Content-Type", "text/csv")
	w := discard{http.Header{}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, req)
	}
}

func BenchmarkInvocations1Row(b *testing.B)     { benchmarkInvocations(b, 1) }
func BenchmarkInvocations1000Rows(b *testing.B) { benchmarkInvocations(b, 1000) }
