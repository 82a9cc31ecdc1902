package integration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// What a model prints reaches CloudWatch Logs where SageMaker puts it —
// group /aws/sagemaker/Endpoints/<endpoint>, stream <variant>/<worker> —
// from its first line; a ModelError's LogStreamArn names that group; and
// the server logs each invocation without its body.
func TestWorkerOutputInCloudWatchLogs(t *testing.T) {
	s := startServer(t)
	deployEcho(t, s, "chatty", 2, 1, nil)
	if code := post(t, s, "chatty", "log Traceback (most recent call last): secret-free"); code != 200 {
		t.Fatalf("invoke: %d", code)
	}
	resp, err := http.Post(s.url()+"/endpoints/chatty/invocations", "text/plain", strings.NewReader("status 500"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var me struct{ LogStreamArn string }
	if err := json.Unmarshal(b, &me); err != nil || !strings.HasSuffix(me.LogStreamArn, ":log-group:/aws/sagemaker/Endpoints/chatty") {
		t.Fatalf("ModelError LogStreamArn %q (%s), want the endpoint's log group", me.LogStreamArn, b)
	}

	cw := cloudwatchlogs.NewFromConfig(s.awsConfig("AKID", "SECRET"), func(o *cloudwatchlogs.Options) { o.BaseEndpoint = aws.String(s.url()) })
	group := "/aws/sagemaker/Endpoints/chatty"
	var found *cloudwatchlogs.FilterLogEventsOutput
	waitFor(t, "the traceback in CloudWatch Logs", 10*time.Second, func() bool {
		out, err := cw.FilterLogEvents(context.Background(), &cloudwatchlogs.FilterLogEventsInput{
			LogGroupName: aws.String(group), FilterPattern: aws.String(`"Traceback"`)})
		if err != nil || len(out.Events) == 0 {
			return false
		}
		found = out
		return true
	})
	stream := aws.ToString(found.Events[0].LogStreamName)
	if !strings.HasPrefix(stream, "AllTraffic/i-") {
		t.Fatalf("stream %q, want AllTraffic/<worker id>", stream)
	}
	// From the worker's first line: its start-up output is in the stream.
	ev, err := cw.GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)})
	if err != nil || len(ev.Events) == 0 || !strings.Contains(aws.ToString(ev.Events[0].Message), "listening on") {
		t.Fatalf("first event of %s: %+v %v, want the worker's start-up line", stream, ev, err)
	}
	// The server's own log (written out in batches): one line per
	// invocation, no body.
	const line = "msg=invocation endpoint=chatty variant=AllTraffic served=warm-provisioned status=200"
	waitFor(t, "the invocation's line in the server's log", 5*time.Second, func() bool { return strings.Contains(s.logs.String(), line) })
	logs := s.logs.String()
	if strings.Contains(logs, "secret-free") {
		t.Fatal("the server's log holds a request body")
	}
}
