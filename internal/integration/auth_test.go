package integration

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"
)

const credentialsINI = `# two users
[default]
aws_access_key_id = AKIDALICE
aws_secret_access_key = alice-secret

[bob]
aws_access_key_id=AKIDBOB
aws_secret_access_key=bob/secret+with=odd chars
`

func TestSignedRequestsOnly(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(path, []byte(credentialsINI), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--credentials-file", path)
	ctx := context.Background()

	// Both profiles' keys work, on the control plane and the runtime.
	for _, c := range []struct{ key, secret string }{{"AKIDALICE", "alice-secret"}, {"AKIDBOB", "bob/secret+with=odd chars"}} {
		if _, err := s.sagemakerAs(c.key, c.secret).ListModels(ctx, &sagemaker.ListModelsInput{}); err != nil {
			t.Fatalf("ListModels signed by %s: %v", c.key, err)
		}
		// Past authentication, the runtime answers for the unknown endpoint.
		_, err := s.runtimeAs(c.key, c.secret).InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("x"), Body: []byte("x")})
		var ve *rttypes.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(aws.ToString(ve.Message), "not found") {
			t.Fatalf("InvokeEndpoint signed by %s on a missing endpoint: %v, want a not-found ValidationError", c.key, err)
		}
	}

	for _, c := range []struct {
		name, key, secret, code string
	}{
		{"wrong secret", "AKIDALICE", "not-alice-secret", "InvalidSignatureException"},
		{"another profile's secret", "AKIDALICE", "bob/secret+with=odd chars", "InvalidSignatureException"},
		{"unknown key", "AKIDMALLORY", "alice-secret", "UnrecognizedClientException"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.sagemakerAs(c.key, c.secret).ListModels(ctx, &sagemaker.ListModelsInput{})
			wantAPIError(t, err, c.code, "")
			if got := httpStatus(err); got != http.StatusForbidden {
				t.Errorf("control plane: HTTP %d, want 403", got)
			}
			_, err = s.runtimeAs(c.key, c.secret).InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("x"), Body: []byte("x")})
			wantAPIError(t, err, c.code, "")
			if got := httpStatus(err); got != http.StatusForbidden {
				t.Errorf("runtime: HTTP %d, want 403", got)
			}
		})
	}

	for _, c := range []struct {
		name, path, contentType string
		header                  map[string]string
	}{
		{"control plane", "/", "application/x-amz-json-1.1", map[string]string{"X-Amz-Target": "SageMaker.ListModels"}},
		{"runtime", "/endpoints/x/invocations", "text/csv", nil},
	} {
		t.Run("unsigned "+c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, s.url()+c.path, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", c.contentType)
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			_ = json.Unmarshal(body, &e)
			code := resp.Header.Get("X-Amzn-ErrorType")
			if code == "" {
				code = e.Type
			}
			if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(code, "MissingAuthenticationTokenException") {
				t.Fatalf("unsigned POST %s: HTTP %d, code %q, body %s; want 403 MissingAuthenticationTokenException", c.path, resp.StatusCode, code, body)
			}
		})
	}
}

func TestNonLoopbackListenNeedsCredentialsOrInsecure(t *testing.T) {
	t.Parallel()
	port := freeAddr(t)[len("127.0.0.1:"):]

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hearthBin, "serve", "--listen", "0.0.0.0:"+port, "--data-dir", t.TempDir())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() <= 0 {
		t.Fatalf("serve on 0.0.0.0 without credentials: %v, want a non-zero exit\n%s", err, out)
	}
	if !strings.Contains(string(out), "--insecure") || !strings.Contains(string(out), "--credentials-file") {
		t.Fatalf("serve on 0.0.0.0 without credentials said %q; want it to name --credentials-file and --insecure", out)
	}

	// With --insecure it serves, unsigned requests included.
	s := &server{t: t, dataDir: t.TempDir(), addr: "127.0.0.1:" + port, args: []string{"--listen", "0.0.0.0:" + port, "--insecure"}}
	s.start()
	t.Cleanup(s.stop)
	req, err := http.NewRequest(http.MethodPost, s.url(), strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "SageMaker.ListModels")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"Models"`) {
		t.Fatalf("unsigned ListModels on an --insecure server: HTTP %d %s", resp.StatusCode, body)
	}
}
