package logs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"hearth/internal/logs"
)

const group = "/aws/sagemaker/Endpoints/my-ep"

// writeNumbered writes lines "line 1" … "line n" to stream, one a second
// from the clock's current time, stored in chunks of 7.
func (e *env) writeNumbered(t *testing.T, stream string, n int) {
	t.Helper()
	w := e.store.NewStreamWriter(group, stream)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "line %d\n", i)
		e.clock.Advance(time.Second)
		if i%7 == 0 {
			e.flush(t) // several chunks, so pages cross their bounds
		}
	}
	w.Close()
	e.flush(t)
}

func messages[T any](evs []T, msg func(T) *string) []string {
	out := []string{}
	for _, ev := range evs {
		out = append(out, aws.ToString(msg(ev)))
	}
	return out
}

func outMsgs(evs []types.OutputLogEvent) []string {
	return messages(evs, func(e types.OutputLogEvent) *string { return e.Message })
}

func filtMsgs(evs []types.FilteredLogEvent) []string {
	return messages(evs, func(e types.FilteredLogEvent) *string { return e.Message })
}

func lines(from, to int) []string {
	out := []string{}
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("line %d", i))
	}
	return out
}

// wantAPIError checks err is the AWS error code whose message contains
// every one of parts.
func wantAPIError(t *testing.T, err error, code string, parts ...string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Errorf("code = %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	for _, p := range parts {
		if !strings.Contains(ae.ErrorMessage(), p) {
			t.Errorf("message %q does not mention %q", ae.ErrorMessage(), p)
		}
	}
}

// TestGetLogEventsTokens pages a stream forward from its head and backward
// from its tail, as the console and SDK paginators do, and checks the
// "same token at the end" rule.
func TestGetLogEventsTokens(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, logs.Options{})
	e.writeNumbered(t, "AllTraffic/w1", 25)
	get := func(in cloudwatchlogs.GetLogEventsInput) *cloudwatchlogs.GetLogEventsOutput {
		t.Helper()
		in.LogGroupName, in.LogStreamName = aws.String(group), aws.String("AllTraffic/w1")
		out, err := e.client.GetLogEvents(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	// Forward from the head.
	out := get(cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true), Limit: aws.Int32(10)})
	if diff := cmp.Diff(lines(1, 10), outMsgs(out.Events)); diff != "" {
		t.Fatalf("head page (-want +got):\n%s", diff)
	}
	if got, want := aws.ToInt64(out.Events[0].Timestamp), ms(t0); got != want {
		t.Errorf("first timestamp %d, want %d (the clock when it was written)", got, want)
	}
	if !strings.HasPrefix(*out.NextForwardToken, "f/") || !strings.HasPrefix(*out.NextBackwardToken, "b/") {
		t.Errorf("tokens %q %q", *out.NextForwardToken, *out.NextBackwardToken)
	}
	out = get(cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true), Limit: aws.Int32(10), NextToken: out.NextForwardToken})
	if diff := cmp.Diff(lines(11, 20), outMsgs(out.Events)); diff != "" {
		t.Fatalf("second page (-want +got):\n%s", diff)
	}
	out = get(cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true), Limit: aws.Int32(10), NextToken: out.NextForwardToken})
	if diff := cmp.Diff(lines(21, 25), outMsgs(out.Events)); diff != "" {
		t.Fatalf("third page (-want +got):\n%s", diff)
	}
	end := out.NextForwardToken
	out = get(cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true), NextToken: end})
	if len(out.Events) != 0 || *out.NextForwardToken != *end {
		t.Errorf("at the end: %d events, token %q; want none and the same token %q", len(out.Events), *out.NextForwardToken, *end)
	}
	// A line written later is found from that same token (tailing).
	e.write(t, group, "AllTraffic/w1", "line 26\n")
	out = get(cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true), NextToken: end})
	if diff := cmp.Diff(lines(26, 26), outMsgs(out.Events)); diff != "" {
		t.Errorf("after the end (-want +got):\n%s", diff)
	}

	// Backward from the tail (the default).
	out = get(cloudwatchlogs.GetLogEventsInput{Limit: aws.Int32(10)})
	if diff := cmp.Diff(lines(17, 26), outMsgs(out.Events)); diff != "" {
		t.Fatalf("tail (-want +got):\n%s", diff)
	}
	out = get(cloudwatchlogs.GetLogEventsInput{Limit: aws.Int32(10), NextToken: out.NextBackwardToken})
	if diff := cmp.Diff(lines(7, 16), outMsgs(out.Events)); diff != "" {
		t.Fatalf("back one page (-want +got):\n%s", diff)
	}
	out = get(cloudwatchlogs.GetLogEventsInput{Limit: aws.Int32(10), NextToken: out.NextBackwardToken})
	if diff := cmp.Diff(lines(1, 6), outMsgs(out.Events)); diff != "" {
		t.Fatalf("back to the head (-want +got):\n%s", diff)
	}
	start := out.NextBackwardToken
	out = get(cloudwatchlogs.GetLogEventsInput{NextToken: start})
	if len(out.Events) != 0 || *out.NextBackwardToken != *start {
		t.Errorf("before the head: %d events, token %q; want none and %q", len(out.Events), *out.NextBackwardToken, *start)
	}

	// A time window: startTime inclusive, endTime exclusive.
	out = get(cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true),
		StartTime: aws.Int64(ms(t0.Add(4 * time.Second))), EndTime: aws.Int64(ms(t0.Add(7 * time.Second)))})
	if diff := cmp.Diff(lines(5, 7), outMsgs(out.Events)); diff != "" {
		t.Errorf("window (-want +got):\n%s", diff)
	}
}

func TestGetLogEventsErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, logs.Options{})
	e.write(t, group, "AllTraffic/w1", "hello\n")
	for _, tc := range []struct {
		name  string
		in    cloudwatchlogs.GetLogEventsInput
		code  string
		parts []string
	}{
		{"no such group", cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/nope"), LogStreamName: aws.String("s")},
			"ResourceNotFoundException", []string{"log group does not exist"}},
		{"no such stream", cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s")},
			"ResourceNotFoundException", []string{"log stream does not exist"}},
		{"bad token", cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("AllTraffic/w1"), NextToken: aws.String("f/xyz")},
			"InvalidParameterException", []string{"nextToken"}},
		{"limit too big", cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("AllTraffic/w1"), Limit: aws.Int32(10001)},
			"InvalidParameterException", []string{"'limit'", "10000"}},
		{"bad group name", cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("a b"), LogStreamName: aws.String("s")},
			"InvalidParameterException", []string{"'logGroupName'"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.GetLogEvents(ctx, &tc.in)
			wantAPIError(t, err, tc.code, tc.parts...)
		})
	}
	// By ARN, as logGroupIdentifier.
	out, err := e.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
		LogGroupIdentifier: aws.String(logs.GroupARN(region, account, group) + ":*"), LogStreamName: aws.String("AllTraffic/w1")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"hello"}, outMsgs(out.Events)); diff != "" {
		t.Errorf("by ARN (-want +got):\n%s", diff)
	}
}

// TestFilterLogEvents searches two interleaved streams with the patterns
// the CLI and console send.
func TestFilterLogEvents(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, logs.Options{})
	a := e.store.NewStreamWriter(group, "AllTraffic/w1")
	b := e.store.NewStreamWriter(group, "AllTraffic/w2")
	other := e.store.NewStreamWriter(group, "Shadow/w3")
	script := []struct {
		w    interface{ Write([]byte) (int, error) }
		text string
	}{
		{a, "INFO starting worker\n"},
		{b, "INFO starting worker\n"},
		{a, "Traceback (most recent call last):\n  File \"model.py\", line 3\nValueError: bad input\n"},
		{b, "ERROR retry 1 failed\n"},
		{other, "ERROR shadow failed\n"},
		{a, "WARN slow request\n"},
		{b, "ERROR gave up\n"},
	}
	for _, s := range script {
		s.w.Write([]byte(s.text))
		e.clock.Advance(time.Second)
	}
	e.flush(t)
	filter := func(in cloudwatchlogs.FilterLogEventsInput) []types.FilteredLogEvent {
		t.Helper()
		in.LogGroupName = aws.String(group)
		out, err := e.client.FilterLogEvents(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		return out.Events
	}
	for _, tc := range []struct {
		name string
		in   cloudwatchlogs.FilterLogEventsInput
		want []string
	}{
		{"no pattern: everything, interleaved", cloudwatchlogs.FilterLogEventsInput{}, []string{
			"INFO starting worker", "INFO starting worker", "Traceback (most recent call last):", `  File "model.py", line 3`,
			"ValueError: bad input", "ERROR retry 1 failed", "ERROR shadow failed", "WARN slow request", "ERROR gave up"}},
		{"quoted term", cloudwatchlogs.FilterLogEventsInput{FilterPattern: aws.String(`"Traceback"`)},
			[]string{"Traceback (most recent call last):"}},
		{"quoted phrase", cloudwatchlogs.FilterLogEventsInput{FilterPattern: aws.String(`"most recent call"`)},
			[]string{"Traceback (most recent call last):"}},
		{"words: all must appear", cloudwatchlogs.FilterLogEventsInput{FilterPattern: aws.String(`ERROR failed`)},
			[]string{"ERROR retry 1 failed", "ERROR shadow failed"}},
		{"exclusion", cloudwatchlogs.FilterLogEventsInput{FilterPattern: aws.String(`ERROR -retry`)},
			[]string{"ERROR shadow failed", "ERROR gave up"}},
		{"alternatives", cloudwatchlogs.FilterLogEventsInput{FilterPattern: aws.String(`?WARN ?ValueError`)},
			[]string{"ValueError: bad input", "WARN slow request"}},
		{"case-sensitive", cloudwatchlogs.FilterLogEventsInput{FilterPattern: aws.String(`error`)}, []string{}},
		{"stream prefix", cloudwatchlogs.FilterLogEventsInput{FilterPattern: aws.String(`ERROR`), LogStreamNamePrefix: aws.String("Shadow/")},
			[]string{"ERROR shadow failed"}},
		{"stream names", cloudwatchlogs.FilterLogEventsInput{LogStreamNames: []string{"AllTraffic/w2"}},
			[]string{"INFO starting worker", "ERROR retry 1 failed", "ERROR gave up"}},
		{"time range, both ends inclusive", cloudwatchlogs.FilterLogEventsInput{
			StartTime: aws.Int64(ms(t0.Add(3 * time.Second))), EndTime: aws.Int64(ms(t0.Add(5 * time.Second)))},
			[]string{"ERROR retry 1 failed", "ERROR shadow failed", "WARN slow request"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, filtMsgs(filter(tc.in))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	// Every event names its stream and has its own id.
	evs := filter(cloudwatchlogs.FilterLogEventsInput{})
	ids := map[string]bool{}
	for _, ev := range evs {
		ids[aws.ToString(ev.EventId)] = true
		if ev.LogStreamName == nil || ev.IngestionTime == nil || aws.ToInt64(ev.IngestionTime) < aws.ToInt64(ev.Timestamp) {
			t.Errorf("event %+v lacks a stream or ingestion time", ev)
		}
	}
	if len(ids) != len(evs) {
		t.Errorf("%d distinct event ids for %d events", len(ids), len(evs))
	}

	// The SDK's paginator follows nextToken to the end.
	var all []string
	p := cloudwatchlogs.NewFilterLogEventsPaginator(e.client, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String(group), FilterPattern: aws.String("ERROR"), Limit: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, filtMsgs(out.Events)...)
	}
	if diff := cmp.Diff([]string{"ERROR retry 1 failed", "ERROR shadow failed", "ERROR gave up"}, all); diff != "" || pages < 2 {
		t.Errorf("paginated in %d pages (-want +got):\n%s", pages, diff)
	}

	_, err := e.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String(`{ $.level = "error" }`)})
	wantAPIError(t, err, "InvalidParameterException", "Invalid filter pattern")
	_, err = e.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String(`"unterminated`)})
	wantAPIError(t, err, "InvalidParameterException", "Invalid filter pattern")
	_, err = e.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), LogStreamNames: []string{"a"}, LogStreamNamePrefix: aws.String("a")})
	wantAPIError(t, err, "InvalidParameterException", "LogStreamNamePrefix")
	_, err = e.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/nope")})
	wantAPIError(t, err, "ResourceNotFoundException", "log group does not exist")
}

func TestDescribe(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, logs.Options{})
	e.write(t, "/aws/sagemaker/Endpoints/b", "AllTraffic/w2", "x\n")
	e.clock.Advance(time.Minute)
	e.write(t, "/aws/sagemaker/Endpoints/a", "AllTraffic/w1", "first\n")
	e.clock.Advance(time.Minute)
	e.write(t, "/aws/sagemaker/Endpoints/a", "AllTraffic/w0", "second\n")
	e.write(t, "/other", "s", "y\n")

	gs, err := e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/sagemaker/")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range gs.LogGroups {
		names = append(names, aws.ToString(g.LogGroupName))
	}
	if diff := cmp.Diff([]string{"/aws/sagemaker/Endpoints/a", "/aws/sagemaker/Endpoints/b"}, names); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	a := gs.LogGroups[0]
	if got, want := aws.ToString(a.Arn), "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/a:*"; got != want {
		t.Errorf("arn %s, want %s", got, want)
	}
	if got, want := aws.ToInt64(a.StoredBytes), int64(len("first")+len("second")+2*26); got != want {
		t.Errorf("storedBytes %d, want %d", got, want)
	}
	if a.RetentionInDays != nil || aws.ToInt64(a.CreationTime) != ms(t0.Add(time.Minute)) {
		t.Errorf("group a: retention %v, created %d", a.RetentionInDays, aws.ToInt64(a.CreationTime))
	}

	// Paging by one, with a case-insensitive name pattern.
	var paged []string
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(e.client, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("ENDPOINTS"), Limit: aws.Int32(1)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range out.LogGroups {
			paged = append(paged, aws.ToString(g.LogGroupName))
		}
	}
	if diff := cmp.Diff(names, paged); diff != "" {
		t.Errorf("paged groups (-want +got):\n%s", diff)
	}
	_, err = e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/a"), LogGroupNamePattern: aws.String("a")})
	wantAPIError(t, err, "InvalidParameterException", "mutually exclusive")

	ss, err := e.client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/sagemaker/Endpoints/a")})
	if err != nil {
		t.Fatal(err)
	}
	if len(ss.LogStreams) != 2 || aws.ToString(ss.LogStreams[0].LogStreamName) != "AllTraffic/w0" {
		t.Fatalf("streams by name: %+v", ss.LogStreams)
	}
	w1 := ss.LogStreams[1]
	if got, want := aws.ToInt64(w1.FirstEventTimestamp), ms(t0.Add(time.Minute)); got != want {
		t.Errorf("firstEventTimestamp %d, want %d", got, want)
	}
	if got, want := aws.ToString(w1.Arn), "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/a:log-stream:AllTraffic/w1"; got != want {
		t.Errorf("stream arn %s, want %s", got, want)
	}
	ss, err = e.client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/sagemaker/Endpoints/a"),
		OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true), Limit: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ss.LogStreams) != 1 || aws.ToString(ss.LogStreams[0].LogStreamName) != "AllTraffic/w0" || ss.NextToken == nil {
		t.Errorf("latest stream first: %+v next %v", ss.LogStreams, ss.NextToken)
	}
	_, err = e.client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/sagemaker/Endpoints/a"),
		OrderBy: types.OrderByLastEventTime, LogStreamNamePrefix: aws.String("All")})
	wantAPIError(t, err, "InvalidParameterException", "LastEventTime")
	_, err = e.client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/nope")})
	wantAPIError(t, err, "ResourceNotFoundException")
}

// TestRetention sets a one-day retention and moves the clock past it.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, logs.Options{})
	e.write(t, group, "AllTraffic/w1", "old line\n")
	_, err := e.client.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(group), RetentionInDays: aws.Int32(2)})
	wantAPIError(t, err, "InvalidParameterException", "'retentionInDays'", "enum value set", "3653")
	if gs, err := e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{}); err != nil || gs.LogGroups[0].RetentionInDays != nil {
		t.Fatalf("a refused PutRetentionPolicy changed the group: %v %+v", err, gs)
	}
	_, err = e.client.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/nope"), RetentionInDays: aws.Int32(1)})
	wantAPIError(t, err, "ResourceNotFoundException")
	if _, err := e.client.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(group), RetentionInDays: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(25 * time.Hour)
	e.write(t, group, "AllTraffic/w1", "new line\n")
	out, err := e.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("AllTraffic/w1"), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"new line"}, outMsgs(out.Events)); diff != "" {
		t.Errorf("after retention (-want +got):\n%s", diff)
	}
	// The hourly sweep (on the store's clock) deletes what expired.
	e.clock.Advance(time.Hour)
	var gs *cloudwatchlogs.DescribeLogGroupsOutput
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		gs, err = e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
		if err != nil || aws.ToInt64(gs.LogGroups[0].StoredBytes) == int64(len("new line")+26) || time.Now().After(deadline) {
			break
		}
	}
	gs, err = e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := gs.LogGroups[0]; aws.ToInt32(got.RetentionInDays) != 1 || aws.ToInt64(got.StoredBytes) != int64(len("new line")+26) {
		t.Errorf("group after expiry: retention %v, storedBytes %d", aws.ToInt32(got.RetentionInDays), aws.ToInt64(got.StoredBytes))
	}
	if _, err := e.client.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	gs, _ = e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if gs.LogGroups[0].RetentionInDays != nil {
		t.Errorf("retention after DeleteRetentionPolicy: %d", *gs.LogGroups[0].RetentionInDays)
	}
}

// TestGroupSizeBound writes past a group's bound: the oldest events go.
func TestGroupSizeBound(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, logs.Options{MaxGroupBytes: 1000})
	line := strings.Repeat("x", 72) // with the 2-digit number and 26 bytes of overhead: 100 bytes an event
	w := e.store.NewStreamWriter(group, "AllTraffic/w1")
	for i := range 30 {
		fmt.Fprintf(w, "%02d%s\n", i, line)
		if i%5 == 4 {
			e.flush(t) // several batches, as a running worker would
		}
	}
	e.flush(t)
	out, err := e.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("AllTraffic/w1"), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	got := outMsgs(out.Events)
	if len(got) > 10 || len(got) < 5 || got[len(got)-1] != "29"+line {
		t.Fatalf("kept %d events ending %q; want the newest, at most 1000 bytes", len(got), got[len(got)-1][:2])
	}
	for i, m := range got {
		if want := fmt.Sprintf("%02d", 30-len(got)+i); m[:2] != want {
			t.Errorf("event %d is %s, want %s: the oldest go first", i, m[:2], want)
		}
	}
	gs, _ := e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if b := aws.ToInt64(gs.LogGroups[0].StoredBytes); b != int64(100*len(got)) || b > 1000 {
		t.Errorf("storedBytes %d for %d events", b, len(got))
	}
}

func TestDeleteLogGroup(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, logs.Options{})
	e.write(t, group, "AllTraffic/w1", "a\n")
	if _, err := e.client.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(group)})
	wantAPIError(t, err, "ResourceNotFoundException", "log group does not exist")
	_, err = e.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("AllTraffic/w1")})
	wantAPIError(t, err, "ResourceNotFoundException")
	// A worker still writing brings the group back, with only new lines.
	e.write(t, group, "AllTraffic/w1", "b\n")
	out, err := e.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"b"}, filtMsgs(out.Events)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
