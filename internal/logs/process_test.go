package logs_test

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/google/go-cmp/cmp"

	"hearth/internal/clock"
	"hearth/internal/logs"
	"hearth/internal/runtime"
	"hearth/internal/runtime/process"
)

func buildEcho(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "echo-worker")
	if out, err := exec.Command("go", "build", "-o", bin, "hearth/cmd/echo-worker").CombinedOutput(); err != nil {
		t.Fatalf("build echo-worker: %v\n%s", err, out)
	}
	return bin
}

// startEcho starts the echo worker through the process runtime with its
// output going to out, and waits until it answers /ping.
func startEcho(t testing.TB, bin string, out io.Writer) runtime.Process {
	t.Helper()
	rt := &process.Runtime{}
	p, err := rt.Start(context.Background(), runtime.Spec{Name: "w-1", Path: bin, Args: []string{"serve"}, Dir: t.TempDir(), Output: out})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background()) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + p.Addr() + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker not ready: %v %s", err, p.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func invoke(t testing.TB, p runtime.Process, body string) int {
	t.Helper()
	resp, err := http.Post("http://"+p.Addr()+"/invocations", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestWorkerOutputEndToEnd runs a real worker process whose stdout and
// stderr go to a stream writer, and reads its output back with the AWS
// SDK: start-up line first, then what a failing request printed, found by
// the filter pattern a user types.
func TestWorkerOutputEndToEnd(t *testing.T) {
	t.Parallel() // waits on other processes
	ctx := context.Background()
	e := newEnv(t, logs.Options{Clock: clock.Real{}})
	bin := buildEcho(t)
	grp, stream := logs.EndpointGroup("my-ep"), logs.WorkerStream("AllTraffic", "w-1")
	w := e.store.NewStreamWriter(grp, stream)
	p := startEcho(t, bin, w)
	traceback := "Traceback (most recent call last):\n  File \"inference.py\", line 12, in predict\nValueError: input has 3 features, expected 8"
	if code := invoke(t, p, "log "+traceback); code != 200 {
		t.Fatalf("log request: %d", code)
	}
	if code := invoke(t, p, "status 500"); code != 500 {
		t.Fatalf("status request: %d", code)
	}
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p.Stop(stopCtx)
	w.Close()
	e.flush(t)

	got, err := e.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String("/aws/sagemaker/Endpoints/my-ep"), LogStreamName: aws.String("AllTraffic/w-1"), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	msgs := outMsgs(got.Events)
	if len(msgs) != 4 || !strings.HasPrefix(msgs[0], "echo-worker: listening on 127.0.0.1:") {
		t.Fatalf("stream holds %q; want the start-up line, then the traceback's 3 lines", msgs)
	}
	if diff := cmp.Diff(strings.Split(traceback, "\n"), msgs[1:]); diff != "" {
		t.Errorf("traceback lines (-want +got):\n%s", diff)
	}
	for i := 1; i < len(got.Events); i++ {
		if aws.ToInt64(got.Events[i].Timestamp) < aws.ToInt64(got.Events[i-1].Timestamp) {
			t.Errorf("timestamps go backwards at %d", i)
		}
	}
	found, err := e.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String("/aws/sagemaker/Endpoints/my-ep"), FilterPattern: aws.String(`"Traceback"`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Events) != 1 || aws.ToString(found.Events[0].LogStreamName) != "AllTraffic/w-1" ||
		aws.ToString(found.Events[0].Message) != "Traceback (most recent call last):" {
		t.Errorf("filter found %+v", found.Events)
	}
}
