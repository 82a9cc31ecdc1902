package docker_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"

	"hearth/internal/clock"
	"hearth/internal/runtime"
	"hearth/internal/runtime/docker"
	"hearth/internal/runtime/docker/dockertest"
)

// newRuntime connects a Runtime to the local engine in a scope of the
// test's own, and removes whatever the test leaves behind.
func newRuntime(t *testing.T, opts docker.Options) *docker.Runtime {
	t.Helper()
	cli := dockertest.Engine(t)
	dockertest.WorkerImage(t, cli)
	if opts.Scope == "" {
		opts.Scope = "test-" + t.Name()
	}
	rt, err := docker.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rt.Close()
		sweeper, err := docker.New(context.Background(), docker.Options{Scope: opts.Scope})
		if err == nil {
			_, _ = sweeper.Sweep(context.Background())
			sweeper.Close()
		}
	})
	return rt
}

func modelDir(t testing.TB, content string) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.txt"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func spec(t testing.TB, name string) runtime.Spec {
	return runtime.Spec{
		Name:      name,
		Image:     dockertest.Image,
		Args:      []string{"serve"},
		Env:       []string{"PATH=/host/bin", "HOME=/host/home", "TMPDIR=/host/tmp", "GREETING=hello from the model"},
		ModelDir:  modelDir(t, "weights-v1"),
		MemoryMB:  256,
		CPUWeight: 25,
	}
}

// syncBuffer is an io.Writer safe for the runtime's log goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitReady polls the worker's /ping as the fleet does.
func waitReady(t *testing.T, p runtime.Process) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + p.Addr() + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.Done():
			t.Fatalf("worker exited before /ping: %v: %s", p.Err(), p.Output())
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatal("no answer to /ping within a minute")
}

func invoke(t *testing.T, p runtime.Process, body string) string {
	t.Helper()
	resp, err := http.Post("http://"+p.Addr()+"/invocations", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatalf("invoke %q: %v", body, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func stop(t *testing.T, p runtime.Process) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

type ider interface{ ID() string }

func TestContainerContract(t *testing.T) {
	rt := newRuntime(t, docker.Options{})
	s := spec(t, "ep-v-1")
	s.Env = append(s.Env, "TMPDIR=/model/tmp") // the model's own, after the host's
	p, err := rt.Start(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, p)
	waitReady(t, p)

	if got := invoke(t, p, "hi"); !strings.Contains(got, `"model":"weights-v1"`) {
		t.Errorf("invocation = %s; want the model read from /opt/ml/model", got)
	}
	for name, want := range map[string]string{
		"GREETING":               "hello from the model",
		"SAGEMAKER_BIND_TO_PORT": "8080",
		"SM_MODEL_DIR":           "/opt/ml/model",
		"HOME":                   "/", // the engine's default: the host's HOME means nothing in the image
		"PATH":                   "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"TMPDIR":                 "/model/tmp",
	} {
		if got := invoke(t, p, "env "+name); got != want {
			t.Errorf("$%s in the container = %q, want %q", name, got, want)
		}
	}

	ins, err := rt.Client().ContainerInspect(context.Background(), p.(ider).ID())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ins.Config.Cmd, []string{"serve"}) {
		t.Errorf("Cmd = %q, want [serve]", ins.Config.Cmd)
	}
	var model bool
	for _, m := range ins.Mounts {
		if m.Destination == "/opt/ml/model" {
			model = true
			if m.RW || m.Source != s.ModelDir {
				t.Errorf("model mount %+v: want %s read-only", m, s.ModelDir)
			}
		}
	}
	if !model {
		t.Errorf("no mount at /opt/ml/model: %+v", ins.Mounts)
	}
	hc := ins.HostConfig
	if hc.Memory != 256<<20 || hc.MemorySwap != hc.Memory {
		t.Errorf("Memory %d, MemorySwap %d; want both %d (no swap)", hc.Memory, hc.MemorySwap, 256<<20)
	}
	if hc.CPUShares != 256 {
		t.Errorf("CpuShares = %d, want 256 (weight 25 of 100)", hc.CPUShares)
	}
	if hc.PidsLimit == nil || *hc.PidsLimit != 4096 {
		t.Errorf("PidsLimit = %v, want 4096", hc.PidsLimit)
	}
	if ins.Config.Labels[docker.LabelManaged] != "true" || ins.Config.Labels[docker.LabelWorker] != "ep-v-1" {
		t.Errorf("labels %v", ins.Config.Labels)
	}
	if p.Pid() <= 0 {
		t.Errorf("Pid = %d", p.Pid())
	}
}

func TestExitAndOutput(t *testing.T) {
	rt := newRuntime(t, docker.Options{})
	s := spec(t, "ep-v-2")
	s.Env = append(s.Env, "ECHO_EXIT_AT_START=7")
	var out syncBuffer
	s.Output = &out
	p, err := rt.Start(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(time.Minute):
		t.Fatal("container did not exit")
	}
	var exit *runtime.Exit
	if !errors.As(p.Err(), &exit) || exit.Code != 7 {
		t.Errorf("Err = %v, want exit status 7", p.Err())
	}
	const msg = "exiting at start as asked"
	if !strings.Contains(p.Output(), msg) || !strings.Contains(out.String(), msg) {
		t.Errorf("Output() = %q, spec.Output got %q; want both to hold the worker's stderr", p.Output(), out.String())
	}
	if _, err := rt.Client().ContainerInspect(context.Background(), p.(ider).ID()); !errdefs.IsNotFound(err) {
		t.Errorf("exited container still there (inspect: %v)", err)
	}
}

func TestMemoryLimitKills(t *testing.T) {
	rt := newRuntime(t, docker.Options{})
	s := spec(t, "ep-v-oom")
	s.MemoryMB = 16
	p, err := rt.Start(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, p)
	// Ask the worker to hold 64 MB: the hard limit, without swap, kills it.
	_, _ = http.Post("http://"+p.Addr()+"/invocations", "text/plain", strings.NewReader("alloc 64"))
	select {
	case <-p.Done():
	case <-time.After(time.Minute):
		t.Fatal("worker over its memory limit still runs")
	}
	var exit *runtime.Exit
	if !errors.As(p.Err(), &exit) || exit.Signal != "killed" {
		t.Errorf("Err = %v, want killed by signal killed", p.Err())
	}
}

func TestStopRemoves(t *testing.T) {
	rt := newRuntime(t, docker.Options{})
	p, err := rt.Start(context.Background(), spec(t, "ep-v-3"))
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, p)
	stop(t, p)
	select {
	case <-p.Done():
	default:
		t.Fatal("Stop returned before the container exited")
	}
	if _, err := rt.Client().ContainerInspect(context.Background(), p.(ider).ID()); !errdefs.IsNotFound(err) {
		t.Errorf("stopped container still there (inspect: %v)", err)
	}
}

func TestNetworkIsolation(t *testing.T) {
	rt := newRuntime(t, docker.Options{})
	s := spec(t, "ep-v-4")
	s.NetworkIsolation = true
	p, err := rt.Start(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, p)
	waitReady(t, p) // the host reaches the isolated container
	ctx := context.Background()
	ins, err := rt.Client().ContainerInspect(ctx, p.(ider).ID())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ins.NetworkSettings.Networks[docker.IsolatedNetwork]; !ok || len(ins.NetworkSettings.Networks) != 1 {
		t.Errorf("networks %v, want only %s", ins.NetworkSettings.Networks, docker.IsolatedNetwork)
	}
	n, err := rt.Client().NetworkInspect(ctx, docker.IsolatedNetwork, network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !n.Internal {
		t.Errorf("network %s is not internal: its containers would have egress", docker.IsolatedNetwork)
	}
}

func TestSweepRemovesPreviousRun(t *testing.T) {
	scope := "test-sweep"
	crashed := newRuntime(t, docker.Options{Scope: scope})
	other := newRuntime(t, docker.Options{Scope: "test-sweep-other"})
	ctx := context.Background()
	left, err := crashed.Start(ctx, spec(t, "left-behind"))
	if err != nil {
		t.Fatal(err)
	}
	kept, err := other.Start(ctx, spec(t, "other-server"))
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, kept)

	next, err := docker.New(ctx, docker.Options{Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	n, err := next.Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want the 1 container of the previous run", n, err)
	}
	if _, err := next.Client().ContainerInspect(ctx, left.(ider).ID()); !errdefs.IsNotFound(err) {
		t.Errorf("previous run's container survived the sweep (inspect: %v)", err)
	}
	if _, err := next.Client().ContainerInspect(ctx, kept.(ider).ID()); err != nil {
		t.Errorf("another server's container was swept: %v", err)
	}
}

func TestStandby(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	rt := newRuntime(t, docker.Options{Standby: true, StandbyIdle: 10 * time.Minute, Clock: clk})
	cli := rt.Client()
	ctx := context.Background()
	s := spec(t, "ep-v-1")
	p1, err := rt.Start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, p1)
	waitStandbys(t, rt, 1)
	sb := paused(t, cli)
	if len(sb) != 1 {
		t.Fatalf("standby containers %+v, want one paused", sb)
	}

	// The next worker of the same configuration gets the standby.
	s.Name = "ep-v-2"
	var out syncBuffer
	s.Output = &out
	p2, err := rt.Start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, p2)
	if id := p2.(ider).ID(); id != sb[0].ID {
		t.Errorf("second worker is container %s, want the standby %s", id, sb[0].ID)
	}
	waitReady(t, p2)
	if got := invoke(t, p2, "env GREETING"); got != "hello from the model" {
		t.Errorf("standby worker's $GREETING = %q", got)
	}

	// A different configuration (another model) does not take it.
	other := spec(t, "ep2-v-1")
	p3, err := rt.Start(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, p3)
	if p3.(ider).ID() == sb[0].ID {
		t.Error("a worker of another model got the standby")
	}

	// Refilled for both configurations, and kept while their workers run.
	waitStandbys(t, rt, 2)
	clk.Advance(time.Hour)
	if n := rt.Standbys(); n != 2 {
		t.Fatalf("Standbys() = %d with workers running, want 2", n)
	}
	// Removed once no worker of theirs has run for StandbyIdle.
	stop(t, p1)
	stop(t, p2)
	stop(t, p3)
	clk.Advance(9 * time.Minute)
	if n := rt.Standbys(); n != 2 {
		t.Fatalf("Standbys() = %d before StandbyIdle, want 2", n)
	}
	clk.Advance(time.Minute)
	deadline := time.Now().Add(30 * time.Second)
	for len(paused(t, cli)) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("idle standby containers not removed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := rt.Standbys(); n != 0 {
		t.Errorf("Standbys() = %d after expiry", n)
	}
}

func TestCloseRemovesStandbys(t *testing.T) {
	rt := newRuntime(t, docker.Options{Standby: true, Scope: "test-close"})
	p, err := rt.Start(context.Background(), spec(t, "ep-v-1"))
	if err != nil {
		t.Fatal(err)
	}
	waitStandbys(t, rt, 1)
	stop(t, p)
	rt.Close()
	if left := dockertest.Containers(t, dockertest.Engine(t), docker.LabelScope+"=test-close"); len(left) != 0 {
		t.Errorf("containers left after Stop and Close: %+v", left)
	}
}

// paused lists the frozen standby containers.
func paused(t *testing.T, cli *client.Client) []container.Summary {
	var list []container.Summary
	for _, c := range dockertest.Containers(t, cli, docker.LabelWorker+"=standby") {
		if c.State == "paused" && c.Labels[docker.LabelScope] == "test-"+t.Name() {
			list = append(list, c)
		}
	}
	return list
}

func waitStandbys(t *testing.T, rt *docker.Runtime, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for rt.Standbys() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d standby containers ready after a minute, want %d", rt.Standbys(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
