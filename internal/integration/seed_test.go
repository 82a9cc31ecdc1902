package integration

import (
	"os"
	"os/exec"
	"path/filepath"
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
