package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
)

// Binaries built once for the whole package.
var (
	hearthBin string
	echoBin   string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hearth-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hearthBin = filepath.Join(dir, "hearth")
	echoBin = filepath.Join(dir, "echo-worker")
	for _, b := range []struct{ out, pkg string }{{hearthBin, "hearth/cmd/hearth"}, {echoBin, "hearth/cmd/echo-worker"}} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", b.pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one running `hearth serve`.
type server struct {
	t       *testing.T
	dataDir string
	addr    string
	args    []string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has exited
	logs    *logBuffer
}

// startServer runs hearth serve with a fresh data dir (or the given one)
// and waits for /healthz.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: t.TempDir(), args: extra}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *server) start() {
	t := s.t
	t.Helper()
	if s.addr == "" {
		s.addr = freeAddr(t)
	}
	args := append([]string{"serve", "--listen", s.addr, "--data-dir", s.dataDir, "--log-level", "debug"}, s.args...)
	s.cmd = exec.Command(hearthBin, args...)
	s.logs = &logBuffer{}
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start hearth: %v", err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); close(exited) }(s.cmd, s.exited)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			// E.g. the port was taken meanwhile: never talk to another server.
			t.Fatalf("hearth exited during start; logs:\n%s", s.logs.String())
		default:
		}
		resp, err := http.Get("http://" + s.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("hearth did not become healthy; logs:\n%s", s.logs.String())
}

// kill9 kills the server (and its workers) without a chance to clean up.
func (s *server) kill9() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
		s.cmd = nil
	}
}

// stop shuts the server down gracefully.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	s.cmd = nil
	if s.t.Failed() {
		s.t.Logf("hearth logs:\n%s", s.logs.String())
	}
}

func (s *server) url() string { return "http://" + s.addr }

func (s *server) awsConfig(key, secret string) aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
		HTTPClient:  &http.Client{Timeout: 90 * time.Second},
	}
}

// sagemaker returns a SageMaker client for the server.
func (s *server) sagemaker() *sagemaker.Client {
	return s.sagemakerAs("AKIDEXAMPLE", "secret")
}

func (s *server) sagemakerAs(key, secret string) *sagemaker.Client {
	return sagemaker.NewFromConfig(s.awsConfig(key, secret), func(o *sagemaker.Options) {
		o.BaseEndpoint = aws.String(s.url())
	})
}

// runtime returns a SageMaker Runtime client for the server.
func (s *server) runtime() *sagemakerruntime.Client {
	return sagemakerruntime.NewFromConfig(s.awsConfig("AKIDEXAMPLE", "secret"), func(o *sagemakerruntime.Options) {
		o.BaseEndpoint = aws.String(s.url())
		o.RetryMaxAttempts = 1
	})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// logBuffer collects a process's output safely.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the log lines containing s.
func (b *logBuffer) lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// waitStatus polls DescribeEndpoint until the endpoint has the status.
func waitStatus(t *testing.T, sm *sagemaker.Client, name, want string) *sagemaker.DescribeEndpointOutput {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		out, err := sm.DescribeEndpoint(context.Background(), &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
		if err != nil {
			t.Fatalf("DescribeEndpoint %s: %v", name, err)
		}
		last = string(out.EndpointStatus)
		if last == want {
			return out
		}
		if last == "Failed" && want != "Failed" {
			t.Fatalf("endpoint %s failed: %s", name, aws.ToString(out.FailureReason))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("endpoint %s: status %s, want %s", name, last, want)
	return nil
}
