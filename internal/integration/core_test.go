package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

var workersRE = regexp.MustCompile(`(?m)^hearth_workers\{([^}]*)\} (\d+)`)

// workerCount reads how many workers of endpoint the server runs, of kind
// ("provisioned" | "on-demand" | "" for any), from /metrics.
func workerCount(t *testing.T, s *server, endpoint, kind string) int {
	t.Helper()
	n := 0
	for _, m := range workersRE.FindAllStringSubmatch(scrape(t, s), -1) {
		if !strings.Contains(m[1], `endpoint="`+endpoint+`"`) || (kind != "" && !strings.Contains(m[1], `kind="`+kind+`"`)) {
			continue
		}
		v, _ := strconv.Atoi(m[2])
		n += v
	}
	return n
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", limit, what)
}

// DeleteEndpoint on a Failed endpoint returns, the endpoint goes, and the
// control plane keeps answering writes; SIGTERM then stops the server
// promptly with exit status 0.
func TestDeleteFailedEndpointDoesNotHang(t *testing.T) {
	s := startServer(t)
	sm := s.sagemaker()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	createModel(t, sm, "broken", map[string]string{"ECHO_EXIT_AT_START": "4"})
	createConfig(t, sm, "broken", serverless("broken", 1024, 2, 1))
	createEndpoint(t, sm, "broken", "broken")
	waitStatus(t, sm, "broken", "Failed")
	if _, err := sm.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: aws.String("broken")}); err != nil {
		t.Fatalf("DeleteEndpoint: %v", err)
	}
	waitGone(t, sm, "broken")
	createModel(t, sm, "after", nil) // a later write is served
	start := time.Now()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.exited
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0; logs:\n%s", code, s.logs.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("SIGTERM took %s", d)
	}
	s.cmd = nil
}

// A second server on a data directory in use exits at once, non-zero,
// naming the directory and the owner's pid, and changes nothing: the first
// server's workers keep serving.
func TestSecondServerOnOneDataDirIsRefused(t *testing.T) {
	s := startServer(t)
	deployEcho(t, s, "ep", 2, 1, nil)
	if code := post(t, s, "ep", "x"); code != 200 {
		t.Fatalf("invoke: %d", code)
	}
	before, _ := os.ReadDir(filepath.Join(s.dataDir, "workers"))
	cmd := exec.Command(hearthBin, "serve", "--listen", freeAddr(t), "--data-dir", s.dataDir)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("second server started on the same data dir:\n%s", out)
	}
	msg := string(out)
	if !strings.Contains(msg, s.dataDir) || !strings.Contains(msg, strconv.Itoa(s.cmd.Process.Pid)) {
		t.Fatalf("refusal %q should name the data dir and pid %d", msg, s.cmd.Process.Pid)
	}
	after, _ := os.ReadDir(filepath.Join(s.dataDir, "workers"))
	if len(before) == 0 || len(after) != len(before) {
		t.Fatalf("worker scratch space changed: %d entries before, %d after", len(before), len(after))
	}
	if code := post(t, s, "ep", "x"); code != 200 {
		t.Fatalf("first server's endpoint after the refused start: %d", code)
	}
}

// A worker that forked a process of its own leaves nothing behind when the
// server is killed with SIGKILL.
func TestKill9LeavesNoWorkerProcesses(t *testing.T) {
	s := startServer(t)
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	deployEcho(t, s, "ep", 2, 1, map[string]string{"ECHO_CHILD_PID_FILE": pidFile})
	var child int
	waitFor(t, "the worker's child", 10*time.Second, func() bool {
		b, err := os.ReadFile(pidFile)
		child, _ = strconv.Atoi(string(b))
		return err == nil && child > 0
	})
	if syscall.Kill(child, 0) != nil {
		t.Fatalf("child %d not running", child)
	}
	// SIGKILL the server process alone.
	_ = syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.exited
	s.cmd = nil
	waitFor(t, "the worker's child to die with the server", 10*time.Second, func() bool {
		// Reaped or a zombie awaiting its reaper: either way, gone.
		b, err := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat")
		return err != nil || strings.Contains(string(b), ") Z ")
	})
}

// An acknowledged capacity change survives kill -9: after the restart the
// endpoint runs exactly the new number of provisioned workers.
func TestCapacityChangeSurvivesKill9(t *testing.T) {
	for _, tc := range []struct{ from, to int32 }{{2, 3}, {3, 1}} {
		s := startServer(t)
		deployEcho(t, s, "ep", 5, tc.from, nil)
		_, err := s.sagemaker().UpdateEndpointWeightsAndCapacities(context.Background(), &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{
			EndpointName: aws.String("ep"),
			DesiredWeightsAndCapacities: []smtypes.DesiredWeightAndCapacity{{
				VariantName:            aws.String("AllTraffic"),
				ServerlessUpdateConfig: &smtypes.ProductionVariantServerlessUpdateConfig{ProvisionedConcurrency: aws.Int32(tc.to)},
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		s.kill9()
		s.start()
		waitStatus(t, s.sagemaker(), "ep", "InService")
		want := int(tc.to)
		waitFor(t, "the new provisioned count", 20*time.Second, func() bool { return workerCount(t, s, "ep", "provisioned") == want })
		time.Sleep(300 * time.Millisecond) // nothing more starts or stops
		if got := workerCount(t, s, "ep", ""); got != want {
			t.Fatalf("PC %d→%d: %d workers after restart, want %d", tc.from, tc.to, got, want)
		}
		s.stop()
	}
}

// SIGTERM lets a request in flight finish before the server exits 0.
func TestSigtermFinishesInFlightRequests(t *testing.T) {
	s := startServer(t)
	deployEcho(t, s, "ep", 2, 1, nil)
	done := make(chan int, 1)
	go func() { done <- post(t, s, "ep", "sleep 700ms") }()
	time.Sleep(200 * time.Millisecond)
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	if code := <-done; code != 200 {
		t.Fatalf("in-flight request got %d during shutdown, want 200", code)
	}
	<-s.exited
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit status %d, want 0", code)
	}
	s.cmd = nil
}
