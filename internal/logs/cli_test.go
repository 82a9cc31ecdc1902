package logs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"hearth/internal/clock"
	"hearth/internal/logs"
)

// cliV2 finds an AWS CLI v2 (`aws logs tail` is v2 only), or skips.
func cliV2(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the AWS CLI")
	}
	for _, path := range []string{"/usr/bin/aws", "/usr/local/bin/aws", "aws"} {
		out, err := exec.Command(path, "--version").CombinedOutput()
		if err == nil && strings.HasPrefix(string(out), "aws-cli/2.") {
			return path
		}
	}
	t.Skip("no AWS CLI v2 installed")
	return ""
}

func cliEnv(url string) []string {
	return append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "AWS_ENDPOINT_URL="+url)
}

// TestCLI runs `aws logs filter-log-events` with the quoted pattern the
// docs show, then `aws logs tail --follow` while a worker keeps writing.
func TestCLI(t *testing.T) {
	t.Parallel() // waits on other processes
	aws := cliV2(t)
	e := newEnv(t, logs.Options{Clock: clock.Real{}, FlushInterval: 50 * time.Millisecond})
	e.write(t, group, "AllTraffic/w-1", "starting\nTraceback (most recent call last):\nValueError: boom\n")

	cmd := exec.Command(aws, "--endpoint-url", e.srv.URL, "logs", "filter-log-events", "--log-group-name", group,
		"--filter-pattern", `"Traceback"`, "--output", "json")
	cmd.Env = cliEnv(e.srv.URL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("filter-log-events: %v\n%s", err, out)
	}
	var res struct {
		Events []struct{ LogStreamName, Message string }
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if len(res.Events) != 1 || res.Events[0].Message != "Traceback (most recent call last):" || res.Events[0].LogStreamName != "AllTraffic/w-1" {
		t.Errorf("filter-log-events found %+v", res.Events)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tail := exec.CommandContext(ctx, aws, "--endpoint-url", e.srv.URL, "logs", "tail", group, "--follow", "--since", "1h", "--format", "short")
	tail.Env = cliEnv(e.srv.URL)
	tail.Stderr = os.Stderr
	stdout, err := tail.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); tail.Wait() }()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect := func(want string) {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("aws logs tail ended before printing %q", want)
				}
				if strings.HasSuffix(l, want) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("aws logs tail did not print %q in time", want)
			}
		}
	}
	expect("ValueError: boom")
	// A line the worker writes later streams in on the next poll.
	w := e.store.NewStreamWriter(group, "AllTraffic/w-2")
	w.Write([]byte("a later line\n"))
	w.Close()
	expect("a later line")
}
