package fleet

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata scenario scripts")

// TestPoolScenarios replays the scripts in testdata/*.txt against a Pool,
// as etcd's raft does with its interaction tests: each command is an event
// at the script's current instant, and its expected output — the actions
// it returned and the pool after it — follows "----". Run with -rewrite to
// regenerate the expectations after a deliberate change, then read the
// diff.
func TestPoolScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			runScenario(t, file)
		})
	}
}

type scenario struct {
	pool *Pool
	now  time.Time
}

func runScenario(t *testing.T, file string) {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sc := &scenario{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var out strings.Builder
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			out.WriteString(line + "\n")
			continue
		}
		// The command, then its expected output up to a blank line.
		out.WriteString(line + "\n----\n")
		if i+1 >= len(lines) || lines[i+1] != "----" {
			t.Fatalf("%s:%d: command %q is not followed by ----", file, i+1, line)
		}
		i += 2
		var want []string
		for ; i < len(lines) && lines[i] != ""; i++ {
			want = append(want, lines[i])
		}
		got, err := sc.do(line)
		if err != nil {
			t.Fatalf("%s:%d: %s: %v", file, i, line, err)
		}
		out.WriteString(got + "\n")
		if i < len(lines) {
			out.WriteString("\n")
		}
		if !*rewrite && got != strings.Join(want, "\n") {
			t.Errorf("%s: after %q\ngot:\n%s\nwant:\n%s", file, line, got, strings.Join(want, "\n"))
		}
	}
	if *rewrite {
		if err := os.WriteFile(file, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (sc *scenario) do(line string) (string, error) {
	f := strings.Fields(line)
	cmd, args := f[0], f[1:]
	kv := map[string]string{}
	var pos []string
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok {
			kv[k] = v
		} else {
			pos = append(pos, a)
		}
	}
	num := func(s string, prefix string) (int, error) {
		n, err := strconv.Atoi(strings.TrimPrefix(s, prefix))
		if err != nil {
			return 0, fmt.Errorf("%q: want %sN", s, prefix)
		}
		return n, nil
	}
	arg := func(prefix string) (int, error) {
		if len(pos) == 0 {
			return 0, fmt.Errorf("%s needs an argument", cmd)
		}
		return num(pos[0], prefix)
	}
	cfg := func(base PoolConfig) (PoolConfig, error) {
		for k, v := range kv {
			switch k {
			case "pc", "instances":
				n, err := strconv.Atoi(v)
				if err != nil {
					return base, err
				}
				base.AlwaysWarm = n
				if k == "instances" {
					base.MaxConcurrency = n
				}
			case "max":
				n, err := strconv.Atoi(v)
				if err != nil {
					return base, err
				}
				base.MaxConcurrency = n
			case "queue":
				n, err := strconv.Atoi(v)
				if err != nil {
					return base, err
				}
				base.QueueLimit = n
			case "keepwarm":
				d, err := time.ParseDuration(v)
				if err != nil {
					return base, err
				}
				base.KeepWarm = d
			default:
				return base, fmt.Errorf("unknown setting %s", k)
			}
		}
		return base, nil
	}
	var a Actions
	switch cmd {
	case "pool":
		c, err := cfg(PoolConfig{Serverless: len(pos) == 0 || pos[0] != "instance", KeepWarm: 5 * time.Minute})
		if err != nil {
			return "", err
		}
		sc.pool = NewPool(c)
		return sc.pool.String(), nil
	case "fill":
		a = sc.pool.Fill(sc.now)
	case "warmup":
		a = sc.pool.WarmUp(sc.now)
	case "acquire":
		n, err := arg("r")
		if err != nil {
			return "", err
		}
		g := sc.pool.Acquire(sc.now, RequestID(n))
		return renderGrant(g) + "\n" + sc.pool.String(), nil
	case "cancel":
		n, err := arg("r")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("canceled=%v\n%s", sc.pool.Cancel(RequestID(n)), sc.pool), nil
	case "started", "startfailed", "release", "exited", "stopped", "evict":
		n, err := arg("w")
		if err != nil {
			return "", err
		}
		id := WorkerID(n)
		switch cmd {
		case "started":
			a = sc.pool.Started(sc.now, id)
		case "startfailed":
			a = sc.pool.StartFailed(sc.now, id, "boom")
		case "release":
			a = sc.pool.Release(sc.now, id, len(pos) > 1 && pos[1] == "failed")
		case "exited":
			a = sc.pool.Exited(sc.now, id)
		case "stopped":
			sc.pool.Stopped(id)
		case "evict":
			return fmt.Sprintf("evicted=%v\n%s", sc.pool.Evict(id), sc.pool), nil
		}
	case "advance":
		if len(pos) == 0 {
			return "", fmt.Errorf("advance needs a duration")
		}
		d, err := time.ParseDuration(pos[0])
		if err != nil {
			return "", err
		}
		sc.now = sc.now.Add(d)
		dl := sc.pool.NextDeadline()
		next := "none"
		if !dl.IsZero() {
			next = "+" + dl.Sub(sc.now).String()
		}
		return "next deadline " + next, nil
	case "tick":
		a = sc.pool.Tick(sc.now)
	case "resize":
		c, err := cfg(sc.pool.Config())
		if err != nil {
			return "", err
		}
		a = sc.pool.Resize(sc.now, c)
	case "drain":
		a = sc.pool.Drain(sc.now)
	default:
		return "", fmt.Errorf("unknown command %q", cmd)
	}
	s := renderActions(a) + "\n" + sc.pool.String()
	if sc.pool.Drained() {
		s += "\ndrained"
	}
	return s, nil
}

func renderGrant(g Grant) string {
	switch g.Outcome {
	case Granted:
		return fmt.Sprintf("granted w%d %s", g.Worker, g.Served)
	case ColdStart:
		return fmt.Sprintf("cold start w%d", g.Worker)
	case Queued:
		return "queued"
	case ThrottledOut:
		return "throttled"
	case Refused:
		return "refused"
	}
	return "?"
}

func renderActions(a Actions) string {
	var parts []string
	for _, id := range a.Start {
		parts = append(parts, fmt.Sprintf("start w%d", id))
	}
	for _, id := range a.Stop {
		parts = append(parts, fmt.Sprintf("stop w%d", id))
	}
	for _, h := range a.Hand {
		parts = append(parts, fmt.Sprintf("hand w%d to r%d", h.Worker, h.Request))
	}
	for _, r := range a.Refuse {
		parts = append(parts, fmt.Sprintf("refuse r%d", r))
	}
	if a.ProvisionedBusy {
		parts = append(parts, "gauge")
	}
	if len(parts) == 0 {
		return "(no actions)"
	}
	return strings.Join(parts, "; ")
}
