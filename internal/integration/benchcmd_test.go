package integration

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

func TestBenchLoadAndColdstartCommands(t *testing.T) {
	s := startServer(t)
	deployEcho(t, s, "bl", 2, 1, nil)
	deployEcho(t, s, "bl-od", 2, 0, nil)
	env := []string{"AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=y", "AWS_REGION=us-east-1", "HOME=" + t.TempDir()}

	cmd := exec.Command(hearthBin, "bench", "load", "--endpoint-url", s.url(), "--endpoint", "bl",
		"--concurrency", "1,4", "--requests", "40", "--output", "json", "--body", "x")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench load: %v\n%s", err, out)
	}
	var rows []struct {
		Concurrency, Requests, OK, Throttled, Errors int
		Throughput                                   float64 `json:"throughput_rps"`
		P50                                          float64 `json:"p50_ms"`
	}
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("bench load JSON %s: %v", out, err)
	}
	if len(rows) != 2 || rows[0].Concurrency != 1 || rows[1].Concurrency != 4 {
		t.Fatalf("rows %+v", rows)
	}
	// Concurrency 1 never exceeds MaxConcurrency 2; at 4 some requests
	// are throttled, and every request is accounted for.
	if rows[0].OK != 40 || rows[0].Throttled != 0 || rows[0].P50 <= 0 || rows[0].Throughput <= 0 {
		t.Fatalf("concurrency 1: %+v", rows[0])
	}
	if rows[1].OK+rows[1].Throttled+rows[1].Errors != 40 || rows[1].Errors != 0 {
		t.Fatalf("concurrency 4: %+v", rows[1])
	}

	cmd = exec.Command(hearthBin, "bench", "coldstart", "--endpoint-url", s.url(), "--endpoints", "bl,bl-od",
		"--idle", "0s", "--rounds", "2", "--body", "x")
	cmd.Env = env
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("bench coldstart: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{"round 1: bl ", "round 2: bl ", "bl-od", "mean", "p50", "max"} {
		if !strings.Contains(text, want) {
			t.Fatalf("coldstart output lacks %q:\n%s", want, text)
		}
	}

	// The same over plain HTTP; an endpoint that does not exist is an
	// error naming it, with the server's answer.
	cmd = exec.Command(hearthBin, "bench", "coldstart", "--raw", "--endpoint-url", s.url(), "--endpoints", "bl,bl-od",
		"--idle", "0s", "--rounds", "2", "--body", "x")
	cmd.Env = env
	if out, err = cmd.Output(); err != nil {
		t.Fatalf("bench coldstart --raw: %v\n%s", err, out)
	}
	if text := string(out); !strings.Contains(text, "round 2: bl ") || !strings.Contains(text, "bl-od") {
		t.Fatalf("coldstart --raw output:\n%s", text)
	}
	cmd = exec.Command(hearthBin, "bench", "coldstart", "--raw", "--endpoint-url", s.url(), "--endpoints", "nope",
		"--idle", "0s", "--rounds", "1", "--body", "x")
	cmd.Env = env
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "endpoint nope") || !strings.Contains(string(out), "not found") {
		t.Fatalf("bench coldstart --raw of a missing endpoint: %v\n%s", err, out)
	}
}
