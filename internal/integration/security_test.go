package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
)

// secureServer starts hearth serve with --credentials-file (the harness's
// default key pair), one --allow-local directory holding a copy of the
// echo worker, and --metrics-token-file.
func secureServer(t *testing.T) (s *server, allowedImage, token string) {
	t.Helper()
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	allowed := filepath.Join(dir, "models")
	if err := os.Mkdir(allowed, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(echoBin)
	if err != nil {
		t.Fatal(err)
	}
	allowedImage = filepath.Join(allowed, "echo-worker")
	if err := os.WriteFile(allowedImage, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	token = "scrape-me-please"
	tokenFile := filepath.Join(dir, "metrics-token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, "--credentials-file", creds, "--allow-local", allowed, "--metrics-token-file", tokenFile)
	return s, allowedImage, token
}

// TestSecurityModel tries, against a server requiring signatures, each way
// a credential holder could act as the server's user on the host. Every
// attempt fails with a ValidationException naming what to change, and
// nothing is stored.
func TestSecurityModel(t *testing.T) {
	t.Parallel()
	s, allowedImage, token := secureServer(t)
	ctx := context.Background()
	sm := s.sagemaker()

	refused := []struct {
		name      string
		container smtypes.ContainerDefinition
		want      string
	}{
		{"a shell as Image", smtypes.ContainerDefinition{Image: aws.String("/bin/bash")}, "--allow-local"},
		{"the hearth binary as Image", smtypes.ContainerDefinition{Image: aws.String(hearthBin)}, "--allow-local"},
		{"an executable outside --allow-local", smtypes.ContainerDefinition{Image: aws.String("file://" + echoBin)}, "--allow-local"},
		{"BASH_ENV", smtypes.ContainerDefinition{Image: aws.String(allowedImage), Environment: map[string]string{"BASH_ENV": "/tmp/x"}}, "BASH_ENV"},
		{"LD_PRELOAD", smtypes.ContainerDefinition{Image: aws.String(allowedImage), Environment: map[string]string{"LD_PRELOAD": "/tmp/x.so"}}, "LD_PRELOAD"},
		{"HEARTH_* variables", smtypes.ContainerDefinition{Image: aws.String("sagemaker-xgboost:1.7-1"), Environment: map[string]string{"HEARTH_DATA_DIR": "/"}}, "HEARTH_DATA_DIR"},
		{"/etc/shadow as ModelDataUrl", smtypes.ContainerDefinition{Image: aws.String("sagemaker-xgboost:1.7-1"), ModelDataUrl: aws.String("/etc/shadow")}, "--allow-local"},
		{"file:///etc/passwd as ModelDataUrl", smtypes.ContainerDefinition{Image: aws.String("sagemaker-xgboost:1.7-1"), ModelDataUrl: aws.String("file:///etc/passwd")}, "--allow-local"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.container
			_, err := sm.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String("evil"), PrimaryContainer: &c})
			ae := wantAPIError(t, err, "ValidationException", "")
			if !strings.Contains(ae.ErrorMessage(), tc.want) {
				t.Errorf("message %q does not name %q", ae.ErrorMessage(), tc.want)
			}
		})
	}
	if out, err := sm.ListModels(ctx, &sagemaker.ListModelsInput{}); err != nil || len(out.Models) != 0 {
		t.Fatalf("after the refused CreateModel calls: %v, %d models stored", err, len(out.Models))
	}

	t.Run("an executable under --allow-local serves", func(t *testing.T) {
		deployImage(t, s, "sec", allowedImage)
		out, err := s.runtime().InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{
			EndpointName: aws.String("sec"), ContentType: aws.String("text/csv"), Body: []byte("1,2,3")})
		if err != nil {
			t.Fatalf("InvokeEndpoint: %v", err)
		}
		if len(out.Body) == 0 {
			t.Fatal("empty answer")
		}
	})

	t.Run("the data dir is private", func(t *testing.T) {
		fi, err := os.Stat(s.dataDir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("data dir mode %v, want 0700", fi.Mode().Perm())
		}
		entries, _ := filepath.Glob(filepath.Join(s.dataDir, "hearth.db*"))
		if len(entries) == 0 {
			t.Fatal("no database files")
		}
		for _, e := range entries {
			fi, err := os.Stat(e)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s has mode %v, want 0600", filepath.Base(e), fi.Mode().Perm())
			}
		}
	})

	t.Run("/metrics needs the token or a signature", func(t *testing.T) {
		for _, tc := range []struct {
			auth string
			want int
		}{{"", 403}, {"Bearer wrong", 403}, {"Bearer " + token, 200}} {
			req, _ := http.NewRequest("GET", s.url()+"/metrics", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("GET /metrics with %q: %d, want %d", tc.auth, resp.StatusCode, tc.want)
			}
			if tc.want == 200 && !strings.Contains(string(body), "hearth_") {
				t.Errorf("GET /metrics with the token: no hearth metrics in %.200s", body)
			}
		}
	})

	t.Run("the Go SDK signs what is required on every API", func(t *testing.T) {
		cfg := s.awsConfig("AKIDEXAMPLE", "secret")
		aas := applicationautoscaling.NewFromConfig(cfg, func(o *applicationautoscaling.Options) { o.BaseEndpoint = aws.String(s.url()) })
		if _, err := aas.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceSagemaker}); err != nil {
			t.Errorf("DescribeScalableTargets: %v", err)
		}
		cw := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(s.url()) })
		if _, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{}); err != nil {
			t.Errorf("ListMetrics: %v", err)
		}
	})

	t.Run("the aws CLI signs what is required on every API", func(t *testing.T) {
		if _, err := exec.LookPath("aws"); err != nil {
			t.Skip("the aws CLI is not installed")
		}
		payload := filepath.Join(t.TempDir(), "payload.csv")
		if err := os.WriteFile(payload, []byte("1,2,3"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"sagemaker", "list-models"},
			{"sagemaker-runtime", "invoke-endpoint", "--endpoint-name", "sec", "--content-type", "text/csv", "--body", "fileb://" + payload, filepath.Join(t.TempDir(), "out")},
			{"application-autoscaling", "describe-scalable-targets", "--service-namespace", "sagemaker"},
			{"cloudwatch", "list-metrics"},
		} {
			cmd := exec.Command("aws", append([]string{"--endpoint-url", s.url(), "--region", "us-east-1", "--output", "json"}, args...)...)
			cmd.Env = clientEnv(t)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	})
}

// deployImage creates a model, config and endpoint for image and waits.
func deployImage(t *testing.T, s *server, name, image string) {
	t.Helper()
	ctx := context.Background()
	sm := s.sagemaker()
	if _, err := sm.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String(name),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(image)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String(name),
		ProductionVariants: []smtypes.ProductionVariant{{VariantName: aws.String("AllTraffic"), ModelName: aws.String(name),
			ServerlessConfig: &smtypes.ProductionVariantServerlessConfig{MemorySizeInMB: aws.Int32(1024), MaxConcurrency: aws.Int32(1)}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, sm, name, "InService")
}

// rssBytes is the resident set size of process pid.
func rssBytes(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("cannot read the server's memory use: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Skip("no VmRSS in /proc status")
	return 0
}

// Kinds of slow client. The API ones send a SageMaker request (served by
// net/http), the invocation ones an InvokeEndpoint (served by the
// invocation route's own server).
const (
	slowIdle                = iota // connects and sends nothing: the cost of a connection
	slowUnsigned                   // a head without a signature, then a trickled body
	slowWrongSign                  // a head signed with the server's key ID and a wrong signature, then a trickled body
	slowUnsignedInvocation         // slowUnsigned, to /endpoints/{name}/invocations
	slowWrongSignInvocation        // slowWrongSign, to /endpoints/{name}/invocations
)

// slowBodies opens n connections of the given kind, each sending a request
// head that claims an 8 MiB body, then trickling 4 KiB of it every 200 ms
// for the given time, and returns the server's peak RSS growth over base
// meanwhile. A wrong signature is only found once the body has been read,
// so those bodies are buffered until the floor rate cuts them.
func slowBodies(t testing.TB, s *server, n, kind int, trickle time.Duration) int64 {
	t.Helper()
	pid := s.cmd.Process.Pid
	base := rssBytes(t, pid)
	now := time.Now().UTC()
	auth := ""
	if kind == slowWrongSign || kind == slowWrongSignInvocation {
		signed := "host;x-amz-date;x-amz-target"
		if kind == slowWrongSignInvocation {
			signed = "host;x-amz-date"
		}
		auth = "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + now.Format("20060102") +
			"/us-east-1/sagemaker/aws4_request, SignedHeaders=" + signed + ", Signature=" + strings.Repeat("0", 64) + "\r\n" +
			"X-Amz-Date: " + now.Format("20060102T150405Z") + "\r\n"
	}
	head := "POST / HTTP/1.1\r\nHost: " + s.addr + "\r\nX-Amz-Target: SageMaker.ListModels\r\nContent-Type: application/x-amz-json-1.1\r\n" +
		auth + "Content-Length: 8388608\r\n\r\n"
	if kind == slowUnsignedInvocation || kind == slowWrongSignInvocation {
		head = "POST /endpoints/slow/invocations HTTP/1.1\r\nHost: " + s.addr + "\r\nContent-Type: text/csv\r\n" +
			auth + "Content-Length: 8388608\r\n\r\n"
	}
	chunk := make([]byte, 4<<10)
	var wg sync.WaitGroup
	stop := time.Now().Add(trickle)
	for range n {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			if kind == slowIdle {
				time.Sleep(time.Until(stop))
				return
			}
			if _, err := io.WriteString(c, head); err != nil {
				return
			}
			for time.Now().Before(stop) {
				if _, err := c.Write(chunk); err != nil {
					return // the server answered and closed
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
	}
	var peak int64
	for time.Now().Before(stop) {
		peak = max(peak, rssBytes(t, pid))
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	return peak - base
}

// TestSlowUnauthenticatedBodiesCostLittleMemory: 100 connections trickling
// bodies that claim 8 MiB each, unsigned or signed wrongly, cost the
// server under 64 MB; and it still serves signed requests afterwards.
func TestSlowUnauthenticatedBodiesCostLittleMemory(t *testing.T) {
	t.Parallel()
	s, _, _ := secureServer(t)
	// Warm the server up so that its baseline includes a served request.
	if _, err := s.sagemaker().ListModels(context.Background(), &sagemaker.ListModelsInput{}); err != nil {
		t.Fatal(err)
	}
	const limit = 64 << 20
	for _, kind := range []int{slowUnsigned, slowWrongSign, slowUnsignedInvocation, slowWrongSignInvocation} {
		growth := slowBodies(t, s, 100, kind, 3*time.Second)
		t.Logf("100 slow bodies (kind %d): server RSS grew %.1f MB", kind, float64(growth)/(1<<20))
		if growth >= limit {
			t.Errorf("100 slow bodies (kind %d) grew the server by %d MB, want under 64 MB", kind, growth>>20)
		}
	}
	if _, err := s.sagemaker().ListModels(context.Background(), &sagemaker.ListModelsInput{}); err != nil {
		t.Fatalf("ListModels after the slow bodies: %v", err)
	}
	// An unsigned request is still answered at once, before any body.
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: SageMaker.ListModels\r\nContent-Length: 100\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("unsigned request: %d, want 403", resp.StatusCode)
	}
}

// BenchmarkSlowBodiesMemory reports the server's RSS growth while 100
// clients trickle 8 MiB bodies, unsigned or wrongly signed, against the
// baseline of 100 connections that send nothing. Run with -benchtime 1x.
func BenchmarkSlowBodiesMemory(b *testing.B) {
	for _, k := range []struct {
		name string
		kind int
	}{{"idle-connections", slowIdle}, {"unsigned", slowUnsigned}, {"wrong-signature", slowWrongSign},
		{"unsigned-invocation", slowUnsignedInvocation}, {"wrong-signature-invocation", slowWrongSignInvocation}} {
		b.Run(k.name, func(b *testing.B) {
			s := benchSecureServer(b)
			var total int64
			for b.Loop() {
				total += slowBodies(b, s, 100, k.kind, 3*time.Second)
			}
			b.ReportMetric(float64(total)/float64(b.N)/(1<<20), "MB-rss-growth")
		})
	}
}

// benchSecureServer runs hearth serve with --credentials-file for a
// benchmark, which startServer (made for tests) cannot serve.
func benchSecureServer(b *testing.B) *server {
	b.Helper()
	dir := b.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(hearthBin, "serve", "--listen", addr, "--data-dir", filepath.Join(dir, "data"), "--credentials-file", creds)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return &server{addr: addr, cmd: cmd}
			}
		}
	}
	b.Fatal("hearth did not become healthy")
	return nil
}
