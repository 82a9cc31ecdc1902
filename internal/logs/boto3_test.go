package logs_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"hearth/internal/logs"
)

// TestBoto3 reads the API with boto3: paginators, the forward-token loop
// of get_log_events, a quoted filter pattern and modeled errors. It is
// skipped when python3 or boto3 is not installed.
func TestBoto3(t *testing.T) {
	t.Parallel() // waits on other processes
	if testing.Short() {
		t.Skip("starts python3")
	}
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skipf("python3 with boto3 is not available: %v", err)
	}
	e := newEnv(t, logs.Options{})
	e.write(t, group, "AllTraffic/w-2", "starting\n")
	e.clock.Advance(time.Second)
	e.write(t, group, "AllTraffic/w-1", "starting\nTraceback (most recent call last):\nValueError: boom\n")
	cmd := exec.Command("python3", "testdata/boto3_logs.py")
	cmd.Env = append(os.Environ(), "HEARTH_URL="+e.srv.URL, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("boto3 script: %v\n%s", err, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	errs, _ := got["errors"].(map[string]any)
	for name, v := range errs {
		if pair, ok := v.([]any); ok && len(pair) == 2 {
			if msg, _ := pair[1].(string); msg == "" {
				t.Errorf("%s: error without a message", name)
			} else if name == "bad_retention" && !strings.Contains(msg, "retentionInDays") {
				t.Errorf("bad_retention message %q does not name retentionInDays", msg)
			}
			errs[name] = pair[0]
		}
	}
	want := map[string]any{
		"groups":    []any{[]any{group, "arn:aws:logs:us-east-1:123456789012:log-group:" + group + ":*", float64(8 + 34 + 16 + 8 + 4*26)}},
		"streams":   []any{"AllTraffic/w-1", "AllTraffic/w-2"}, // the latest event first
		"forward":   []any{"starting", "Traceback (most recent call last):", "ValueError: boom"},
		"traceback": []any{[]any{"AllTraffic/w-1", "Traceback (most recent call last):"}},
		"retention": float64(14),
		"errors": map[string]any{
			"bad_retention": "InvalidParameterException(modeled)",
			"no_group":      "ResourceNotFoundException(modeled)",
			"bad_pattern":   "InvalidParameterException(modeled)",
		},
		"after_delete": []any{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("boto3 saw (-want +got):\n%s", diff)
	}
}
