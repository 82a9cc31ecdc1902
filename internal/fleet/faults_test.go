package fleet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hearth"
)

// A provisioned worker whose model server closes idle connections (as the
// built-in worker does after 65 s) still answers the first request after a
// long quiet spell, warm, from the same process: the closed connection is
// noticed before it is reused.
func TestProvisionedAnswersAfterIdleConnectionClosed(t *testing.T) {
	h := newHarness(t, 0)
	h.mustDeploy(deployment("ep", 1, echoVariant("AllTraffic", serverless(1024, 2, 1),
		map[string]string{"ECHO_IDLE_TIMEOUT": "20ms"})))
	first, err := h.invoke("ep", "x")
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		// Long enough for the worker to close the kept-alive connection
		// (real time: the worker's own idle timer), and ten minutes on the
		// fleet's clock.
		time.Sleep(100 * time.Millisecond)
		h.clock.Advance(10 * time.Minute)
		resp, err := h.invoke("ep", "x")
		if err != nil {
			t.Fatalf("round %d: first request after idle: %v", round, err)
		}
		if resp.Served != WarmProvisioned || pidOf(resp.Body) != pidOf(first.Body) {
			t.Fatalf("round %d: served %v by pid %s, want warm-provisioned by the same worker %s", round, resp.Served, pidOf(resp.Body), pidOf(first.Body))
		}
	}
}

// A request the worker read but did not answer is never sent again: the
// model ran once, and the error says what happened.
func TestRequestIsNeverSentTwice(t *testing.T) {
	h := newHarness(t, 0)
	count := filepath.Join(t.TempDir(), "count")
	h.mustDeploy(deployment("ep", 1, echoVariant("AllTraffic", serverless(1024, 2, 1),
		map[string]string{"ECHO_COUNT_FILE": count})))
	if _, err := h.invoke("ep", "warm the connection"); err != nil {
		t.Fatal(err)
	}
	_, err := h.invoke("ep", "hangup")
	var fe *Error
	if !errors.As(err, &fe) || fe.Kind != WorkerFailure || !strings.Contains(fe.Message, "closed the connection without answering") {
		t.Fatalf("hangup: %v, want a worker failure saying the worker closed the connection without answering", err)
	}
	b, _ := os.ReadFile(count)
	if n := strings.Count(string(b), "hangup"); n != 1 {
		t.Fatalf("the worker received the request %d times, want exactly once:\n%s", n, b)
	}
}

// A worker that dies mid-request fails that request with its exit status,
// not with the connection error it caused.
func TestCrashMidRequestNamesTheExit(t *testing.T) {
	h := newHarness(t, 0)
	h.mustDeploy(deployment("ep", 1, echoVariant("AllTraffic", serverless(1024, 2, 1), nil)))
	_, err := h.invoke("ep", "crash")
	var fe *Error
	if !errors.As(err, &fe) || fe.Kind != WorkerFailure || !strings.Contains(fe.Message, "exit status 3") {
		t.Fatalf("crash: %v, want a worker failure naming exit status 3", err)
	}
}

// Endpoints admitted within the memory budget all come back after a
// restart: restoring never warms up on-demand pools (nothing can fail for
// memory), and provisioned workers draw on capacity reserved for them.
func TestRestoreNeverFailsAdmittedEndpoints(t *testing.T) {
	h := newHarness(t, 4096)
	var deps []hearth.Deployment
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		deps = append(deps, deployment(name, 1, echoVariant("AllTraffic", serverless(1024, 2, 0), nil)))
	}
	deps = append(deps, deployment("pc", 1, echoVariant("AllTraffic", serverless(1024, 2, 2), nil)))
	for _, d := range deps {
		if err := h.f.Admit(d); err != nil {
			t.Fatalf("admit %s: %v", d.Endpoint, err)
		}
	}
	for _, d := range deps {
		h.f.Restore(d)
	}
	for range deps {
		select {
		case r := <-h.rep.ch:
			if r.Outcome != hearth.Ready {
				t.Fatalf("restore %s: outcome %v: %s", r.Endpoint, r.Outcome, r.Reason)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("not every endpoint reported")
		}
	}
	eventually(t, "provisioned workers up", func() bool { return h.count("pc", "provisioned", "idle") == 2 })
	// Every on-demand endpoint serves, one after another, within the
	// 2 GiB the reservation leaves (idle workers are evicted for room).
	for _, d := range deps[:10] {
		if _, err := h.invoke(d.Endpoint, "x"); err != nil {
			t.Fatalf("invoke %s: %v", d.Endpoint, err)
		}
	}
	if used := h.f.MemoryUsedMB(); used > 4096 {
		t.Fatalf("%d MB in use, over the 4096 MB budget", used)
	}
}

// A capacity change that arrives while a restored generation is still
// starting its provisioned workers ends with exactly the new count.
func TestResizeDuringRestoreReachesExactCount(t *testing.T) {
	for _, tc := range []struct{ from, to int }{{2, 3}, {3, 1}} {
		h := newHarness(t, 0)
		h.f.Restore(deployment("ep", 1, echoVariant("AllTraffic", serverless(1024, 5, tc.from),
			map[string]string{"ECHO_START_DELAY": "30ms"})))
		h.f.Deploy(deployment("ep", 2, echoVariant("AllTraffic", serverless(1024, 5, tc.to),
			map[string]string{"ECHO_START_DELAY": "30ms"})))
		for i := 0; i < 2; i++ {
			if r := h.wait("ep"); r.Outcome != hearth.Ready {
				t.Fatalf("%d→%d: %v %s", tc.from, tc.to, r.Outcome, r.Reason)
			}
		}
		eventually(t, "exact provisioned count", func() bool {
			return h.count("ep", "provisioned", "") == tc.to && h.count("ep", "", "starting") == 0
		})
		time.Sleep(100 * time.Millisecond) // nothing more starts
		if n := h.count("ep", "", ""); n != tc.to {
			t.Fatalf("%d→%d: %d workers running, want %d", tc.from, tc.to, n, tc.to)
		}
	}
}
