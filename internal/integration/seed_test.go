package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// seedDir holds the seed example: the training job's model.tar.gz, the
// notebook's CSV row and the prediction XGBoost 1.7.4 gives for it.
var seedDir = filepath.Join("..", "xgboost", "testdata", "seed-abalone-tarball")

func requireBoto3(t *testing.T) {
	t.Helper()
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 is not installed")
	}
}

// TestSeedNotebookWithBoto3 runs the seed notebook's flow with boto3: the
// SageMaker XGBoost image URI, the training job's artifact, an on-demand
// and a provisioned serverless endpoint, and XGBoost's own prediction back
// from both.
func TestSeedNotebookWithBoto3(t *testing.T) {
	requireBoto3(t)
	s := startServer(t)
	model, _ := filepath.Abs(filepath.Join(seedDir, "model.tar.gz"))
	payload, _ := filepath.Abs(filepath.Join(seedDir, "payload.csv"))
	expected, err := os.ReadFile(filepath.Join(seedDir, "expected.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", filepath.Join("testdata", "seed_notebook.py"), s.url(), model, payload, strings.TrimSpace(string(expected)))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("seed notebook flow: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "xgboost-ondemand 9.316") || !strings.Contains(string(out), "xgboost-provisioned 9.316") || !strings.HasSuffix(strings.TrimSpace(string(out)), "ok") {
		t.Fatalf("unexpected output:\n%s", out)
	}
}

// TestSeedNotebookInProcess runs the same flow against a server whose
// built-in runtime is in-process: the same predictions, and no worker
// process is ever started for them.
func TestSeedNotebookInProcess(t *testing.T) {
	requireBoto3(t)
	s := startServer(t, "--builtin-runtime", "in-process")
	model, _ := filepath.Abs(filepath.Join(seedDir, "model.tar.gz"))
	payload, _ := filepath.Abs(filepath.Join(seedDir, "payload.csv"))
	expected, err := os.ReadFile(filepath.Join(seedDir, "expected.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", filepath.Join("testdata", "seed_notebook.py"), s.url(), model, payload, strings.TrimSpace(string(expected)))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("seed notebook flow: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "xgboost-ondemand 9.316") || !strings.Contains(string(out), "xgboost-provisioned 9.316") || !strings.HasSuffix(strings.TrimSpace(string(out)), "ok") {
		t.Fatalf("unexpected output:\n%s", out)
	}
	// No child of the server is a `hearth worker xgboost` process (the
	// process runtime would have started them, and kept one on standby).
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 3 || fields[1] != strconv.Itoa(s.cmd.Process.Pid) { // ppid
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.Contains(string(cmdline), "xgboost") {
			t.Errorf("a worker process runs beside the in-process runtime: %q", strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
}

func TestBuiltinRuntimeFlagIsChecked(t *testing.T) {
	cmd := exec.Command(hearthBin, "serve", "--builtin-runtime", "docker", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	if err == nil || cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "--builtin-runtime") ||
		!strings.Contains(string(out), "give process or in-process") {
		t.Fatalf("serve --builtin-runtime docker: %v\n%s", err, out)
	}
}
