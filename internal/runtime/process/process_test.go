package process

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"hearth/internal/runtime"
)

func buildEcho(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "echo-worker")
	cmd := exec.Command("go", "build", "-o", bin, "hearth/cmd/echo-worker")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build echo-worker: %v\n%s", err, out)
	}
	return bin
}

func TestStartStopAndExitReason(t *testing.T) {
	bin := buildEcho(t)
	rt := &Runtime{}
	p, err := rt.Start(context.Background(), runtime.Spec{Path: bin, Args: []string{"serve"},
		Env: []string{"ECHO_EXIT_AT_START=5"}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("worker did not exit")
	}
	if got := runtime.ExitReason(p.Err()); got != "exit status 5" {
		t.Fatalf("exit reason %q, want exit status 5", got)
	}
	if !strings.Contains(p.Output(), "exiting at start") {
		t.Fatalf("output %q should hold what the worker printed", p.Output())
	}

	p, err = rt.Start(context.Background(), runtime.Spec{Path: bin, Args: []string{"serve"},
		Env: []string{"SAGEMAKER_BIND_TO_PORT=0"}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := runtime.ExitReason(p.Err()); got != "killed by signal terminated" {
		t.Fatalf("after Stop: %q, want killed by SIGTERM", got)
	}
}

func TestWorkersGetTheirOwnCgroupWithMemoryLimit(t *testing.T) {
	cg := DetectCgroups("hearth-test-workers")
	if cg == nil {
		t.Skip("no writable cgroup hierarchy on this host")
	}
	bin := buildEcho(t)
	rt := &Runtime{Cgroups: cg}
	p, err := rt.Start(context.Background(), runtime.Spec{Path: bin, Args: []string{"serve"},
		Env: []string{"SAGEMAKER_BIND_TO_PORT=0"}, Dir: t.TempDir(), MemoryMB: 256, CPUWeight: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid()) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	group := "worker-" + strconv.Itoa(p.Pid())
	if !strings.Contains(string(b), group) {
		t.Fatalf("worker's /proc/pid/cgroup does not name %s:\n%s", group, b)
	}
	var limitFile string
	if cg.V2 != "" {
		limitFile = filepath.Join(cg.V2, group, "memory.max")
	} else {
		limitFile = filepath.Join(cg.MemoryV1, group, "memory.limit_in_bytes")
	}
	limit, err := os.ReadFile(limitFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(limit)); got != strconv.Itoa(256<<20) {
		t.Fatalf("memory limit %s, want %d", got, 256<<20)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.Stop(ctx)
	if _, err := os.Stat(filepath.Dir(limitFile)); !os.IsNotExist(err) {
		t.Fatalf("cgroup %s should be removed after the worker exits (stat: %v)", filepath.Dir(limitFile), err)
	}
}

// The group holding the worker groups weighs what its workers weigh
// together, so that a worker competes for CPU with the host's other
// processes as a process of its own weight would.
func TestWorkerGroupsParentWeighsItsWorkers(t *testing.T) {
	cg := DetectCgroups("hearth-test-weights")
	if cg == nil || (cg.CPUV1 == "" && cg.V2 == "") {
		t.Skip("no writable CPU cgroup on this host")
	}
	parent, file, unit := cg.CPUV1, "cpu.shares", 1024
	if cg.V2 != "" {
		parent, file, unit = cg.V2, "cpu.weight", 100
	}
	if _, err := os.Stat(filepath.Join(parent, file)); err != nil {
		t.Skip("the worker groups' parent has no CPU controller")
	}
	weight := func() int {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(parent, file))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
	bin := buildEcho(t)
	rt := &Runtime{Cgroups: cg}
	start := func(w int) runtime.Process {
		p, err := rt.Start(context.Background(), runtime.Spec{Path: bin, Args: []string{"serve"},
			Env: []string{"SAGEMAKER_BIND_TO_PORT=0"}, Dir: t.TempDir(), MemoryMB: 256, CPUWeight: w})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Stop(context.Background()) })
		return p
	}
	a := start(200)
	start(50)
	if got, want := weight(), 250*unit/100; got != want {
		t.Fatalf("parent weight with workers of 200 and 50: %d, want %d", got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = a.Stop(ctx)
	<-a.Done()
	if got, want := weight(), 50*unit/100; got != want {
		t.Fatalf("parent weight after the 200 worker exits: %d, want %d", got, want)
	}
}
