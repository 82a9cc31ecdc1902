package integration

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/google/go-cmp/cmp"
)

// world is a set of resources of every kind, with tags.
type world struct {
	endpoints []string
	tagged    []string // ARNs of the tagged resources
}

func buildWorld(t *testing.T, s *server) world {
	t.Helper()
	sm := s.sagemaker()
	createModel(t, sm, "durable", nil, tag("owner", "alice"))
	createModel(t, sm, "spare", map[string]string{"ANSWER": "42"})
	createConfig(t, sm, "warm", serverless("durable", 1024, 4, 1), tag("tier", "gold"))
	createConfig(t, sm, "cold", serverless("durable", 2048, 2, 0))
	createConfig(t, sm, "unused", []smtypes.ProductionVariant{instanceVariant("Blue", "spare", 1, 1)})
	createEndpoint(t, sm, "warm", "warm", tag("env", "prod"))
	createEndpoint(t, sm, "cold", "cold")
	waitStatus(t, sm, "warm", "InService")
	waitStatus(t, sm, "cold", "InService")
	if _, err := sm.AddTags(context.Background(), &sagemaker.AddTagsInput{
		ResourceArn: aws.String(arnOf("endpoint", "cold")), Tags: []smtypes.Tag{tag("added", "later")},
	}); err != nil {
		t.Fatal(err)
	}
	return world{
		endpoints: []string{"warm", "cold"},
		tagged:    []string{arnOf("model", "durable"), arnOf("endpoint-config", "warm"), arnOf("endpoint", "warm"), arnOf("endpoint", "cold")},
	}
}

// state is what a user can read back about a world.
type state struct {
	Inventory inventory
	Tags      map[string]map[string]string
}

func (w world) state(t *testing.T, s *server) state {
	t.Helper()
	sm := s.sagemaker()
	st := state{Inventory: takeInventory(t, sm), Tags: map[string]map[string]string{}}
	for _, arn := range w.tagged {
		st.Tags[arn] = tagMap(t, sm, arn)
	}
	return st
}

// invokeEcho invokes an echo-worker endpoint and returns the worker's pid,
// failing unless the worker echoed the body.
func invokeEcho(t *testing.T, rt *sagemakerruntime.Client, endpoint, body string) int {
	t.Helper()
	out, err := rt.InvokeEndpoint(context.Background(), &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(endpoint), Body: []byte(body)})
	if err != nil {
		t.Fatalf("InvokeEndpoint %s: %v", endpoint, err)
	}
	var got struct {
		Pid  int
		Body string
	}
	if err := json.Unmarshal(out.Body, &got); err != nil || got.Body != body {
		t.Fatalf("InvokeEndpoint %s answered %s (%v)", endpoint, out.Body, err)
	}
	return got.Pid
}

// checkBack fails unless the restarted server shows the same state and
// serves every endpoint.
func (w world) checkBack(t *testing.T, s *server, before state) {
	t.Helper()
	sm := s.sagemaker()
	for _, ep := range w.endpoints {
		waitStatus(t, sm, ep, "InService")
	}
	if diff := cmp.Diff(before, w.state(t, s)); diff != "" {
		t.Fatalf("state after restart (-before +after):\n%s", diff)
	}
	rt := s.runtime()
	for _, ep := range w.endpoints {
		waitServing(t, rt, ep)
		invokeEcho(t, rt, ep, "after restart")
	}
}

// waitServing checks that an endpoint answers InvokeEndpoint at once
// after a restart, as an InService endpoint must.
func waitServing(t *testing.T, rt *sagemakerruntime.Client, endpoint string) {
	t.Helper()
	_, err := rt.InvokeEndpoint(context.Background(), &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(endpoint), Body: []byte("x")})
	if err != nil {
		t.Fatalf("endpoint %s right after restart: %v", endpoint, err)
	}
}

// An endpoint that DescribeEndpoint reports InService answers
// InvokeEndpoint, also right after the server restarted, as it would on
// AWS (where a restart is invisible): the resumed deployment should be
// served, starting its workers on demand if need be.
func TestInvokeRightAfterRestart(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	sm := s.sagemaker()
	// A worker that takes a while to start makes the window wide.
	createModel(t, sm, "slow", map[string]string{"ECHO_START_DELAY": "500ms"})
	createConfig(t, sm, "slow", serverless("slow", 1024, 2, 1))
	createEndpoint(t, sm, "slow", "slow")
	waitStatus(t, sm, "slow", "InService")
	for _, restart := range []struct {
		name string
		stop func()
	}{{"SIGTERM", s.stop}, {"SIGKILL", s.kill9}} {
		restart.stop()
		s.start()
		if d := waitStatus(t, sm, "slow", "InService"); d.EndpointStatus != smtypes.EndpointStatusInService {
			t.Fatalf("after %s: %s", restart.name, d.EndpointStatus)
		}
		invokeEcho(t, s.runtime(), "slow", "right after "+restart.name)
	}
}

// waitProcessGone waits until pid has exited (a zombie counts: it runs no
// code and holds no memory).
func waitProcessGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
			// The state follows the parenthesised command name.
			if i := strings.LastIndexByte(string(stat), ')'); i > 0 && strings.HasPrefix(string(stat[i+1:]), " Z") {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("worker process %d outlived the server", pid)
}

func TestKill9MidTrafficLosesNothing(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := buildWorld(t, s)
	before := w.state(t, s)
	workers := map[int]bool{}
	for _, ep := range w.endpoints {
		workers[invokeEcho(t, s.runtime(), ep, "before")] = true
	}

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for _, ep := range w.endpoints {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rt := s.runtime()
			for ctx.Err() == nil {
				_, err := rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(ep), Body: []byte("traffic")})
				if err == nil {
					select {
					case served <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Fatal("no traffic served")
		}
	}
	s.kill9()
	cancel()
	wg.Wait()
	for pid := range workers {
		waitProcessGone(t, pid)
	}

	s.start()
	w.checkBack(t, s, before)
}

func TestKill9RightAfterAChangeKeepsIt(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	sm := s.sagemaker()
	ctx := context.Background()
	// Workers take a moment to start, so each kill lands while the
	// endpoint is still in progress.
	slow := map[string]string{"ECHO_START_DELAY": "500ms"}

	steps := []struct {
		name string
		do   func(t *testing.T)
		// after checks the restarted server.
		after func(t *testing.T)
	}{
		{"CreateModel", func(t *testing.T) {
			createModel(t, sm, "just-made", slow, tag("k", "v"))
		}, func(t *testing.T) {
			d, err := sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: aws.String("just-made")})
			if err != nil {
				t.Fatalf("model created right before the kill: %v", err)
			}
			if !cmp.Equal(d.PrimaryContainer.Environment, slow) {
				t.Fatalf("model environment after restart: %v", d.PrimaryContainer.Environment)
			}
			if got := tagMap(t, sm, arnOf("model", "just-made")); !cmp.Equal(got, map[string]string{"k": "v"}) {
				t.Fatalf("model tags after restart: %v", got)
			}
		}},
		{"CreateEndpointConfig", func(t *testing.T) {
			createConfig(t, sm, "first", serverless("just-made", 1024, 2, 1))
			createConfig(t, sm, "second", serverless("just-made", 2048, 2, 1))
		}, func(t *testing.T) {
			for _, c := range []string{"first", "second"} {
				if _, err := sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String(c)}); err != nil {
					t.Fatalf("config created right before the kill: %v", err)
				}
			}
		}},
		{"CreateEndpoint", func(t *testing.T) {
			createEndpoint(t, sm, "kept", "first")
		}, func(t *testing.T) {
			d := waitStatus(t, sm, "kept", "InService")
			if aws.ToString(d.EndpointConfigName) != "first" {
				t.Fatalf("endpoint runs %q, want first", aws.ToString(d.EndpointConfigName))
			}
			invokeEcho(t, s.runtime(), "kept", "created")
		}},
		{"UpdateEndpoint", func(t *testing.T) {
			if _, err := sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String("kept"), EndpointConfigName: aws.String("second")}); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T) {
			d := waitStatus(t, sm, "kept", "InService")
			if got := serverlessOf(d.ProductionVariants[0].CurrentServerlessConfig); aws.ToString(d.EndpointConfigName) != "second" || got != "mem=2048 max=2 pc=1" {
				t.Fatalf("endpoint updated right before the kill runs %q with %s", aws.ToString(d.EndpointConfigName), got)
			}
			invokeEcho(t, s.runtime(), "kept", "updated")
		}},
		{"DeleteEndpoint", func(t *testing.T) {
			if _, err := sm.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: aws.String("kept")}); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T) {
			err := waitGone(t, sm, "kept")
			wantAPIError(t, err, "ValidationException", `Could not find endpoint "`+arnOf("endpoint", "kept")+`".`)
		}},
	}
	// One server throughout (its harness belongs to t), so no subtests.
	for _, step := range steps {
		t.Logf("kill -9 right after %s", step.name)
		step.do(t)
		s.kill9()
		s.start()
		step.after(t)
	}
}

func TestGracefulRestartKeepsEverything(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := buildWorld(t, s)
	before := w.state(t, s)
	var pids []int
	for _, ep := range w.endpoints {
		pids = append(pids, invokeEcho(t, s.runtime(), ep, "before"))
	}

	cmd := s.cmd
	s.stop()
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("hearth exited with %d on SIGTERM, want 0", code)
	}
	for _, pid := range pids {
		waitProcessGone(t, pid)
	}
	s.start()
	w.checkBack(t, s, before)
}
