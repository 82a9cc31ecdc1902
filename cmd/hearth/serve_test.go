package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to write from the server's goroutines
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func noEnv(string) string { return "" }

// jsonLines checks every line of out is a JSON object with time, level
// and msg, and returns them.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("stderr line is not JSON: %q", line)
			continue
		}
		if m["time"] == nil || m["level"] == nil || m["msg"] == nil {
			t.Errorf("log object lacks time, level or msg: %q", line)
		}
		objs = append(objs, m)
	}
	return objs
}

// TestServeLogFormatJSON runs `hearth serve --log-format json` until it
// serves, then stops it: everything on stderr is JSON lines.
func TestServeLogFormatJSON(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-format", "json", "--log-level", "debug"},
			noEnv, &stdout, &stderr)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "Hearth is serving") {
		if time.Now().After(deadline) {
			t.Fatalf("not serving; stderr:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The CloudWatch Logs API answers on the same port.
	addr := strings.TrimPrefix(strings.Fields(stdout.String())[4], "http://")
	req, _ := http.NewRequest("POST", "http://"+addr+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "Logs_20140328.DescribeLogGroups")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"logGroups":[]}` {
		t.Errorf("DescribeLogGroups: %d %s", resp.StatusCode, body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	var msgs []string
	for _, m := range jsonLines(t, stderr.String()) {
		msgs = append(msgs, m["msg"].(string))
	}
	if !strings.Contains(strings.Join(msgs, "|"), "hearth serving") {
		t.Errorf("no start-up line among %q", msgs)
	}
}

// TestServeLogFormatErrors: a failure after the flags are read is one JSON
// line too, with the usual exit code; a bad --log-format is a usage error.
func TestServeLogFormatErrors(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--log-format", "json", "--account-id", "12", "--data-dir", t.TempDir()}, noEnv, io.Discard, &stderr)
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	objs := jsonLines(t, stderr.String())
	if len(objs) != 1 || objs[0]["level"] != "ERROR" || !strings.Contains(objs[0]["err"].(string), "--account-id") {
		t.Errorf("stderr %q: want one ERROR object naming --account-id", stderr.String())
	}

	stderr.Reset()
	if code := run(context.Background(), []string{"serve", "--log-format", "xml"}, noEnv, io.Discard, &stderr); code != 2 {
		t.Errorf("--log-format xml: exit code %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "--log-format") {
		t.Errorf("stderr %q does not name --log-format", stderr.String())
	}
}
