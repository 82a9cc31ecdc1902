package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// TestChaosWorkerFaultsUnderLoad kills and freezes workers while clients
// keep an endpoint busy, on loopback and for a bounded number of requests.
// Every fault may cost the request it hit, and nothing more: failed
// requests never outnumber the faults, the endpoint keeps serving, and its
// provisioned workers come back.
func TestChaosWorkerFaultsUnderLoad(t *testing.T) {
	s := startServer(t)
	deployEcho(t, s, "chaos", 4, 2, nil)
	const clients, perClient = 4, 60
	var (
		mu       sync.Mutex
		pids     = map[int]bool{}
		failures []string
	)
	invoke := func() {
		resp, err := http.Post(s.url()+"/endpoints/chaos/invocations", "text/plain", strings.NewReader("sleep 5ms"))
		if err != nil {
			mu.Lock()
			failures = append(failures, err.Error())
			mu.Unlock()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		if resp.StatusCode != 200 {
			failures = append(failures, fmt.Sprintf("%d %s", resp.StatusCode, b))
			return
		}
		var out struct{ Pid int }
		if json.Unmarshal(b, &out) == nil && out.Pid > 0 {
			pids[out.Pid] = true
		}
	}
	stop := make(chan struct{})
	faults := 0
	var chaos sync.WaitGroup
	chaos.Add(1)
	go func() {
		defer chaos.Done()
		tick := time.NewTicker(80 * time.Millisecond)
		defer tick.Stop()
		for round := 0; ; round++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			mu.Lock()
			var victim int
			for pid := range pids {
				victim = pid
				delete(pids, pid)
				break
			}
			mu.Unlock()
			if victim == 0 || syscall.Kill(victim, 0) != nil {
				continue
			}
			if round%3 == 2 {
				// Freeze it for a moment: its request waits, then is
				// answered; nothing fails.
				_ = syscall.Kill(victim, syscall.SIGSTOP)
				time.Sleep(50 * time.Millisecond)
				_ = syscall.Kill(victim, syscall.SIGCONT)
				continue
			}
			_ = syscall.Kill(victim, syscall.SIGKILL)
			mu.Lock()
			faults++
			mu.Unlock()
		}
	}()
	var load sync.WaitGroup
	for c := 0; c < clients; c++ {
		load.Add(1)
		go func() {
			defer load.Done()
			for i := 0; i < perClient; i++ {
				invoke()
			}
		}()
	}
	load.Wait()
	close(stop)
	chaos.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d requests, %d workers killed, %d requests failed", clients*perClient, faults, len(failures))
	if faults == 0 {
		t.Fatal("no worker was killed: the test did not exercise anything")
	}
	if len(failures) > faults {
		t.Fatalf("%d requests failed for %d killed workers:\n%s", len(failures), faults, strings.Join(failures, "\n"))
	}
	waitFor(t, "provisioned workers back", 20*time.Second, func() bool { return workerCount(t, s, "chaos", "provisioned") == 2 })
	if code := post(t, s, "chaos", "x"); code != 200 {
		t.Fatalf("after the chaos: %d", code)
	}
}

// TestChaosServerKilledDuringWrites kills the server with SIGKILL while a
// client creates models one after another: after a restart, every create
// the server acknowledged is there.
func TestChaosServerKilledDuringWrites(t *testing.T) {
	s := startServer(t)
	sm := s.sagemaker()
	var acked []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			name := fmt.Sprintf("m%03d", i)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := sm.CreateModel(ctx, &sagemaker.CreateModelInput{
				ModelName:        aws.String(name),
				PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(echoBin)},
			})
			cancel()
			if err != nil {
				return // the server is gone
			}
			acked = append(acked, name)
		}
	}()
	time.Sleep(150 * time.Millisecond)
	s.kill9()
	<-done
	if len(acked) == 0 {
		t.Fatal("no create was acknowledged before the kill")
	}
	s.start()
	have := map[string]bool{}
	p := sagemaker.NewListModelsPaginator(s.sagemaker(), &sagemaker.ListModelsInput{MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Models {
			have[aws.ToString(m.ModelName)] = true
		}
	}
	for _, name := range acked {
		if !have[name] {
			t.Fatalf("model %s was acknowledged before the kill but is gone after the restart (%d acknowledged, %d found)", name, len(acked), len(have))
		}
	}
	t.Logf("%d creates acknowledged before the kill, all present after the restart", len(acked))
}
