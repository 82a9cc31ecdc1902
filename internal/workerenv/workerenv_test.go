package workerenv

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRefused(t *testing.T) {
	for _, name := range []string{"HEARTH_LISTEN", "HEARTH_STANDBY_FD", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT",
		"DYLD_INSERT_LIBRARIES", "BASH_ENV", "ENV", "BASH_FUNC_x", "PYTHONSTARTUP", "PYTHONPATH", "NODE_OPTIONS",
		"JAVA_TOOL_OPTIONS", "PATH", "GLIBC_TUNABLES", "PERL5OPT"} {
		if why, ok := Refused(name); !ok || why == "" {
			t.Errorf("Refused(%q) = %q, %v; want refused with a reason", name, why, ok)
		}
	}
	for _, name := range []string{"SAGEMAKER_PROGRAM", "SAGEMAKER_REGION", "PYTHONUNBUFFERED", "OMP_NUM_THREADS",
		"MODEL_SERVER_WORKERS", "hearth_lower", "LDX", "ENVIRONMENT", "MY_PATH"} {
		if why, ok := Refused(name); ok {
			t.Errorf("Refused(%q) = %q; want allowed", name, why)
		}
	}
}

func TestBuild(t *testing.T) {
	contract := map[string]string{"PATH": "/usr/bin", "SAGEMAKER_BIND_TO_PORT": "8080", "SM_MODEL_DIR": "/m"}
	model := map[string]string{
		"SAGEMAKER_BIND_TO_PORT": "22",        // contract wins
		"LD_PRELOAD":             "/tmp/x.so", // refused
		"HEARTH_DATA_DIR":        "/",         // refused
		"PATH":                   "/tmp/evil", // contract wins (and refused)
		"SAGEMAKER_PROGRAM":      "inference.py",
		"A":                      "x=y",
	}
	want := []string{"A=x=y", "PATH=/usr/bin", "SAGEMAKER_BIND_TO_PORT=8080", "SAGEMAKER_PROGRAM=inference.py", "SM_MODEL_DIR=/m"}
	if diff := cmp.Diff(want, Build(contract, model)); diff != "" {
		t.Errorf("Build (-want +got):\n%s", diff)
	}
}

// TestBuildIsAllTheChildSees starts a real process with the built
// environment: it sees exactly that, none of the parent's variables.
func TestBuildIsAllTheChildSees(t *testing.T) {
	envPath, err := exec.LookPath("env")
	if err != nil {
		t.Skip("no env program")
	}
	t.Setenv("HEARTH_SECRET_OF_THE_SERVER", "s3cr3t")
	env := Build(map[string]string{"PATH": os.Getenv("PATH")}, map[string]string{"B": "2", "BASH_ENV": "/tmp/x"})
	cmd := exec.Command(envPath)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	slices.Sort(got)
	if diff := cmp.Diff(env, got); diff != "" {
		t.Errorf("child environment (-built +seen):\n%s", diff)
	}
}
