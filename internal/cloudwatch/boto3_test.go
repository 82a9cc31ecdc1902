package cloudwatch

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBoto3 runs testdata/boto3_roundtrip.py against the handler with
// boto3's default protocol (awsJson1.0), with awsQuery and with rpcv2Cbor. It is skipped
// when python3 or boto3 is not installed.
func TestBoto3(t *testing.T) {
	if testing.Short() {
		t.Skip("starts python3")
	}
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skipf("python3 with boto3 is not available: %v", err)
	}
	for _, proto := range []string{"json", "query", "smithy-rpc-v2-cbor"} {
		t.Run(proto, func(t *testing.T) {
			env := newTestEnv(t)
			cmd := exec.Command("python3", "testdata/boto3_roundtrip.py", proto)
			cmd.Env = append(os.Environ(), "HEARTH_URL="+env.srv.URL, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
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
			if id, _ := got["request_id"].(string); id == "" {
				t.Error("botocore found no RequestId")
			}
			delete(got, "request_id")
			errInfo, _ := got["error"].(map[string]any)
			if msg, _ := errInfo["message"].(string); msg == "" {
				t.Errorf("error without message: %v", got["error"])
			}
			delete(errInfo, "message")
			want := map[string]any{
				"protocol": proto,
				"label":    "Latency",
				"gms": []any{map[string]any{
					"ts": "2024-03-01T10:00:00+00:00", "sum": 55.0, "count": 10.0, "max": 10.0, "unit": "Milliseconds",
				}},
				"pct": map[string]any{"p50": 5.0, "p90": 9.0},
				"gmd": map[string]any{
					"id": "m1", "label": "Latency", "status": "Complete",
					"values": []any{10.0, 35.0, 10.0},
					"ts":     []any{"2024-03-01T10:00:00+00:00", "2024-03-01T10:00:05+00:00", "2024-03-01T10:00:10+00:00"},
				},
				"list":  []any{[]any{"Latency", []any{"EndpointName", "VariantName"}}},
				"error": map[string]any{"code": "InvalidParameterValue", "status": 400.0},
				"special": map[string]any{
					"nan":    []any{"InvalidParameterValue", "The value NaN for parameter MetricData.member.1.Value is invalid."},
					"inf":    []any{"InvalidParameterValue", "The value Infinity for parameter MetricData.member.1.Value is invalid."},
					"-inf":   []any{"InvalidParameterValue", "The value -Infinity for parameter MetricData.member.1.Value is invalid."},
					"listed": []any{},
				},
				"bare": []any{[]any{}},
				"both": []any{"InvalidParameterCombination", "The parameters MetricData.member.1.Value and MetricData.member.1.Values are mutually exclusive and you have specified both."},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("boto3 saw (-want +got):\n%s", diff)
			}
			// And the handler saw that protocol on the wire.
			env.mu.Lock()
			defer env.mu.Unlock()
			for _, h := range env.seen {
				seen := "query"
				switch {
				case h.Get("X-Amz-Target") != "":
					seen = "json"
				case h.Get("Smithy-Protocol") == "rpc-v2-cbor":
					seen = "smithy-rpc-v2-cbor"
				}
				if seen != proto {
					t.Errorf("%s run sent a %s request (%v)", proto, seen, h)
				}
			}
		})
	}
}
