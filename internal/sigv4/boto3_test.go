package sigv4

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// boto3Script makes three calls against the endpoint in HEARTH_URL: the two
// first with the listed key pair, the last with a wrong secret. It prints
// the outcome of each as JSON, or SKIP when boto3 is not installed.
const boto3Script = `
import json, os, sys
try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError
except ImportError:
    print("SKIP")
    sys.exit(0)

url = os.environ["HEARTH_URL"]
cfg = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=5)

def client(service, secret):
    return boto3.client(service, endpoint_url=url, region_name="eu-central-1",
        aws_access_key_id=os.environ["KEY_ID"], aws_secret_access_key=secret, config=cfg)

def outcome(call):
    try:
        call()
        return "ok"
    except ClientError as e:
        return e.response["Error"]["Code"]

good, bad = os.environ["SECRET"], "wrong-secret"
print(json.dumps({
    "list_models": outcome(lambda: client("sagemaker", good).list_models(NameContains="a b")),
    "invoke_endpoint": outcome(lambda: client("sagemaker-runtime", good).invoke_endpoint(
        EndpointName="my ep", ContentType="text/csv", Body=b"1,2,3\n")),
    "wrong_secret": outcome(lambda: client("sagemaker", bad).list_models()),
}))
`

func TestBoto3SignedRequests(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	v, err := NewVerifier(testCredentials(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := newAuthServer(t, v, "eu-central-1")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", boto3Script)
	cmd.Env = append(os.Environ(),
		"HEARTH_URL="+srv.URL, "KEY_ID="+testKeyID, "SECRET="+testSecret,
		"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	if string(bytes.TrimSpace(out)) == "SKIP" {
		t.Skip("boto3 not installed")
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python3 printed %q: %v", out, err)
	}
	want := map[string]string{"list_models": "ok", "invoke_endpoint": "ok", "wrong_secret": CodeInvalidSignature}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("boto3 outcomes (-want +got):\n%s", diff)
	}
	ids := srv.identities()
	if len(ids) != 2 {
		t.Errorf("%d requests verified, want 2", len(ids))
	}
	for _, id := range ids {
		if id.Region != "eu-central-1" || id.Service != "sagemaker" || id.Profile != "default" {
			t.Errorf("identity %+v: want profile default, eu-central-1/sagemaker", id)
		}
	}
}
