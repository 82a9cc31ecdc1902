package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"hearth/internal/cloudwatch/alarm"
	"hearth/internal/metrics"
	"hearth/internal/store"
)

// recordingActions is an ActionRunner that performs Auto Scaling ARNs by
// remembering them and refuses the others, as the server's does.
type recordingActions struct {
	mu   sync.Mutex
	runs []AlarmEvent
}

func (r *recordingActions) RunAlarmAction(ctx context.Context, arn string, ev AlarmEvent) error {
	if !strings.HasPrefix(arn, "arn:aws:autoscaling:") {
		return ErrUnsupportedAction
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, ev)
	return nil
}

func (r *recordingActions) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.runs)
}

type alarmEnv struct {
	*testEnv
	st      *store.Store
	alarms  *Alarms
	actions *recordingActions
	cw      *cloudwatch.Client
}

// newAlarmEnv serves CloudWatch with alarms on loopback, on an embedded
// store, with metric period base.
func newAlarmEnv(t *testing.T, dir string, base time.Duration) *alarmEnv {
	t.Helper()
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := &fakeClock{now: t0.Add(time.Hour)}
	ms, err := metrics.Open(context.Background(), st.DB(), metrics.Options{BasePeriod: base, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	e := &alarmEnv{testEnv: &testEnv{store: ms, clock: clock, db: st.DB()}, st: st, actions: &recordingActions{}}
	e.alarms = NewAlarms(st, ms, AlarmOptions{Account: "123456789012", BasePeriod: base, Clock: clock, Actions: e.actions})
	h := NewHandler(ms, Options{Clock: clock, Account: "123456789012", Alarms: e.alarms, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Match(r) {
			http.Error(w, "not CloudWatch", http.StatusNotFound)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.cw = newSDKClient(e.testEnv)
	return e
}

// second puts v into the Load metric in the current second, then moves
// the clock one second on and evaluates the alarms.
func (e *alarmEnv) second(t *testing.T, v float64) {
	t.Helper()
	ctx := context.Background()
	if !isNaN(v) {
		_, err := e.cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Hearth/Test"), MetricData: []types.MetricDatum{
			{MetricName: aws.String("Load"), Dimensions: sdkDims, Value: aws.Float64(v)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	now := e.clock.Now().Add(time.Second)
	e.clock.Set(now)
	if err := e.store.Flush(ctx, now); err != nil {
		t.Fatal(err)
	}
	if err := e.alarms.Evaluate(ctx, now); err != nil {
		t.Fatal(err)
	}
}

func isNaN(v float64) bool { return v != v }

func (e *alarmEnv) alarm(t *testing.T, name string) types.MetricAlarm {
	t.Helper()
	out, err := e.cw.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
	if err != nil || len(out.MetricAlarms) != 1 {
		t.Fatalf("describe %s: %+v %v", name, out, err)
	}
	return out.MetricAlarms[0]
}

const scalingARN = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0c1d:resource/sagemaker/endpoint/my-ep/variant/AllTraffic:policyName/step"

func putLoadAlarm(t *testing.T, cw *cloudwatch.Client, name string) {
	t.Helper()
	_, err := cw.PutMetricAlarm(context.Background(), &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(name), Namespace: aws.String("Hearth/Test"), MetricName: aws.String("Load"), Dimensions: sdkDims,
		Statistic: types.StatisticSum, Period: aws.Int32(1), EvaluationPeriods: aws.Int32(3), DatapointsToAlarm: aws.Int32(2),
		Threshold: aws.Float64(10), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
		AlarmActions: []string{scalingARN, "arn:aws:sns:us-east-1:123456789012:ops"},
		OKActions:    []string{"arn:aws:sns:us-east-1:123456789012:ops"},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAlarmsWithTheGoSDK(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := newAlarmEnv(t, dir, time.Second)
	putLoadAlarm(t, e.cw, "load-high")
	a := e.alarm(t, "load-high")
	if a.StateValue != types.StateValueInsufficientData || aws.ToString(a.StateReason) != "Unchecked: Initial alarm creation" ||
		aws.ToString(a.AlarmArn) != "arn:aws:cloudwatch:us-east-1:123456789012:alarm:load-high" || !aws.ToBool(a.ActionsEnabled) ||
		aws.ToInt32(a.DatapointsToAlarm) != 2 || aws.ToFloat64(a.Threshold) != 10 || len(a.Dimensions) != 2 {
		t.Fatalf("new alarm %+v", a)
	}

	e.second(t, 3) // OK: 1 datapoint, below
	if a := e.alarm(t, "load-high"); a.StateValue != types.StateValueOk {
		t.Fatalf("after a low second: %s (%s)", a.StateValue, aws.ToString(a.StateReason))
	}
	e.second(t, 20)
	if a := e.alarm(t, "load-high"); a.StateValue != types.StateValueOk || e.actions.count() != 0 {
		t.Fatalf("1 of 3 above is not 2 of 3: %s", a.StateValue)
	}
	e.second(t, 25) // 2 of the last 3 above: ALARM, and the scaling policy runs
	a = e.alarm(t, "load-high")
	if a.StateValue != types.StateValueAlarm || !strings.HasPrefix(aws.ToString(a.StateReason), "Threshold Crossed: 2 out of the last 3 datapoints [25.0 (") ||
		!strings.Contains(aws.ToString(a.StateReasonData), `"recentDatapoints":[3,20,25]`) {
		t.Fatalf("alarm %s: %s %s", a.StateValue, aws.ToString(a.StateReason), aws.ToString(a.StateReasonData))
	}
	if e.actions.count() != 1 || e.actions.runs[0].AlarmName != "load-high" || e.actions.runs[0].State != alarm.Alarm || !e.actions.runs[0].Changed ||
		e.actions.runs[0].Values[0] != 25 {
		t.Fatalf("actions %+v", e.actions.runs)
	}
	e.second(t, 30) // still in ALARM: Auto Scaling actions run again every period
	if e.actions.count() != 2 || e.actions.runs[1].Changed {
		t.Fatalf("actions while staying in ALARM: %+v", e.actions.runs)
	}

	// History: newest first; the SNS action is reported as not performed.
	hist, err := e.cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("load-high")})
	if err != nil {
		t.Fatal(err)
	}
	var summaries []string
	for _, h := range hist.AlarmHistoryItems {
		summaries = append(summaries, string(h.HistoryItemType)+": "+aws.ToString(h.HistorySummary))
	}
	want := []string{
		"Action: Failed to execute action arn:aws:sns:us-east-1:123456789012:ops",
		"Action: Successfully executed action " + scalingARN,
		"StateUpdate: Alarm updated from OK to ALARM",
		"Action: Failed to execute action arn:aws:sns:us-east-1:123456789012:ops",
		"StateUpdate: Alarm updated from INSUFFICIENT_DATA to OK",
		`ConfigurationUpdate: Alarm "load-high" created`,
	}
	if strings.Join(summaries, "\n") != strings.Join(want, "\n") {
		t.Fatalf("history\n%s\nwant\n%s", strings.Join(summaries, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(aws.ToString(hist.AlarmHistoryItems[0].HistoryData), "only Application Auto Scaling policy actions") {
		t.Fatalf("unsupported action's history data: %s", aws.ToString(hist.AlarmHistoryItems[0].HistoryData))
	}
	states, err := e.cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{HistoryItemType: types.HistoryItemTypeStateUpdate, MaxRecords: aws.Int32(1)})
	if err != nil || len(states.AlarmHistoryItems) != 1 || states.NextToken == nil {
		t.Fatalf("paged history: %+v %v", states, err)
	}

	// Disabled actions do not run.
	if _, err := e.cw.DisableAlarmActions(ctx, &cloudwatch.DisableAlarmActionsInput{AlarmNames: []string{"load-high"}}); err != nil {
		t.Fatal(err)
	}
	e.second(t, 30)
	if e.actions.count() != 2 || aws.ToBool(e.alarm(t, "load-high").ActionsEnabled) {
		t.Fatalf("actions ran while disabled: %d", e.actions.count())
	}
	if _, err := e.cw.EnableAlarmActions(ctx, &cloudwatch.EnableAlarmActionsInput{AlarmNames: []string{"load-high"}}); err != nil {
		t.Fatal(err)
	}

	// SetAlarmState holds until the next evaluation.
	if _, err := e.cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("load-high"), StateValue: types.StateValueOk, StateReason: aws.String("testing")}); err != nil {
		t.Fatal(err)
	}
	if a := e.alarm(t, "load-high"); a.StateValue != types.StateValueOk || aws.ToString(a.StateReason) != "testing" {
		t.Fatalf("after SetAlarmState: %s %s", a.StateValue, aws.ToString(a.StateReason))
	}
	_, err = e.cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("nope"), StateValue: types.StateValueOk, StateReason: aws.String("x")})
	wantCode(t, err, "ResourceNotFound")
	_, err = e.cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("load-high"), StateValue: types.StateValueOk, StateReason: aws.String("x"), StateReasonData: aws.String("{")})
	wantCode(t, err, "InvalidFormat")

	// DescribeAlarmsForMetric matches the metric with all its dimensions.
	fm, err := e.cw.DescribeAlarmsForMetric(ctx, &cloudwatch.DescribeAlarmsForMetricInput{Namespace: aws.String("Hearth/Test"), MetricName: aws.String("Load"), Dimensions: []types.Dimension{sdkDims[1], sdkDims[0]}})
	if err != nil || len(fm.MetricAlarms) != 1 {
		t.Fatalf("for metric: %+v %v", fm, err)
	}
	fm, err = e.cw.DescribeAlarmsForMetric(ctx, &cloudwatch.DescribeAlarmsForMetricInput{Namespace: aws.String("Hearth/Test"), MetricName: aws.String("Load"), Dimensions: sdkDims[:1]})
	if err != nil || len(fm.MetricAlarms) != 0 {
		t.Fatalf("for metric with fewer dimensions: %+v %v", fm, err)
	}

	// Validation: nothing is stored.
	for _, in := range []*cloudwatch.PutMetricAlarmInput{
		{AlarmName: aws.String("bad"), Namespace: aws.String("N"), MetricName: aws.String("M"), Statistic: types.StatisticSum, Period: aws.Int32(1), EvaluationPeriods: aws.Int32(1), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold},
		{AlarmName: aws.String("bad"), Namespace: aws.String("N"), MetricName: aws.String("M"), Statistic: types.StatisticSum, Period: aws.Int32(1), EvaluationPeriods: aws.Int32(2), DatapointsToAlarm: aws.Int32(3), Threshold: aws.Float64(1), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold},
		{AlarmName: aws.String("bad"), Namespace: aws.String("N"), MetricName: aws.String("M"), Statistic: types.StatisticSum, ExtendedStatistic: aws.String("p99"), Period: aws.Int32(1), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold},
		{AlarmName: aws.String("bad"), Namespace: aws.String("N"), MetricName: aws.String("M"), Statistic: types.StatisticSum, Period: aws.Int32(1), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1), ComparisonOperator: "Sideways"},
		{AlarmName: aws.String("bad"), Namespace: aws.String("N"), MetricName: aws.String("M"), Statistic: types.StatisticSum, Period: aws.Int32(1), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold, AlarmActions: []string{"not-an-arn"}},
	} {
		if _, err := e.cw.PutMetricAlarm(ctx, in); err == nil {
			t.Fatalf("accepted %+v", in)
		}
	}
	if out, _ := e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{}); len(out.MetricAlarms) != 1 {
		t.Fatalf("refused alarms were stored: %d", len(out.MetricAlarms))
	}

	// Alarms survive a restart.
	e.srv.Close()
	e.st.Close()
	again := newAlarmEnv(t, dir, time.Second)
	if a := again.alarm(t, "load-high"); a.StateValue != types.StateValueOk {
		t.Fatalf("after restart: %+v", a)
	}

	// DeleteAlarms deletes all or nothing.
	_, err = again.cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"load-high", "nope"}})
	wantCode(t, err, "ResourceNotFound")
	again.alarm(t, "load-high")
	if _, err := again.cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"load-high"}}); err != nil {
		t.Fatal(err)
	}
	if out, _ := again.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{}); len(out.MetricAlarms) != 0 {
		t.Fatalf("deleted alarm still listed")
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

// TestBoto3Alarms drives the alarm operations with boto3 in each of
// CloudWatch's three protocols.
func TestBoto3Alarms(t *testing.T) {
	if testing.Short() {
		t.Skip("starts python3")
	}
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skipf("python3 with boto3 is not available: %v", err)
	}
	for _, proto := range []string{"json", "query", "smithy-rpc-v2-cbor"} {
		t.Run(proto, func(t *testing.T) {
			e := newAlarmEnv(t, t.TempDir(), time.Minute)
			cmd := exec.Command("python3", "testdata/boto3_alarms.py", proto)
			cmd.Env = append(os.Environ(), "HEARTH_URL="+e.srv.URL, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
			out, err := cmd.Output()
			if err != nil {
				var stderr []byte
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = ee.Stderr
				}
				t.Fatalf("boto3 script: %v\n%s", err, stderr)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%v in %s", err, out)
			}
			want := map[string]any{
				"protocol": proto,
				"alarms": []any{
					[]any{"a1", "INSUFFICIENT_DATA", "Sum", 1.5, true, []any{"arn:aws:sns:us-east-1:000000000000:t"}, "notBreaching"},
					[]any{"a2", "INSUFFICIENT_DATA", "p90", 1000.0, false, []any{}, ""},
				},
				"set": []any{"ALARM", "by hand", `{"x": 1}`},
				"history": []any{
					[]any{"ConfigurationUpdate", `Alarm "a1" created`},
					[]any{"StateUpdate", "Alarm updated from INSUFFICIENT_DATA to ALARM"},
					[]any{"Action", "Failed to execute action arn:aws:sns:us-east-1:000000000000:t"},
				},
				"for_metric": []any{"a2"},
				"error":      []any{"ResourceNotFound", 404.0},
				"left":       0.0,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("boto3 saw (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAlarmTagsWithTheGoSDK(t *testing.T) {
	ctx := context.Background()
	e := newAlarmEnv(t, t.TempDir(), time.Second)
	putLoadAlarm(t, e.cw, "tagged")
	arn := aws.ToString(e.alarm(t, "tagged").AlarmArn)
	tags := func() map[string]string {
		t.Helper()
		out, err := e.cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: &arn})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, tg := range out.Tags {
			m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		return m
	}
	if got := tags(); len(got) != 0 {
		t.Fatalf("new alarm's tags %v", got)
	}
	if _, err := e.cw.TagResource(ctx, &cloudwatch.TagResourceInput{ResourceARN: &arn, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("ml")}, {Key: aws.String("env"), Value: aws.String("dev")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cw.UntagResource(ctx, &cloudwatch.UntagResourceInput{ResourceARN: &arn, TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	if got := tags(); len(got) != 1 || got["team"] != "ml" {
		t.Fatalf("tags %v", got)
	}
	// Updating the alarm without Tags keeps them.
	putLoadAlarm(t, e.cw, "tagged")
	if got := tags(); got["team"] != "ml" {
		t.Fatalf("tags after update %v", got)
	}
	_, err := e.cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String("arn:aws:cloudwatch:us-east-1:123456789012:alarm:nope")})
	wantCode(t, err, "ResourceNotFoundException")
}

func TestAlarmHistoryIsKept30Days(t *testing.T) {
	ctx := context.Background()
	e := newAlarmEnv(t, t.TempDir(), time.Second)
	putLoadAlarm(t, e.cw, "old")
	count := func() int {
		var recs []historyRecord
		if err := e.st.View(ctx, func(tx *store.Tx) (err error) {
			recs, err = store.ListInto[historyRecord](tx, kindHistory)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}
	if err := e.alarms.Evaluate(ctx, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 { // created; without data it stays INSUFFICIENT_DATA
		t.Fatalf("%d history items, want 1", n)
	}
	later := e.clock.Now().Add(historyRetention + time.Hour)
	e.clock.Set(later)
	if err := e.alarms.Evaluate(ctx, later); err != nil {
		t.Fatal(err)
	}
	hist, err := e.cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("old")})
	if err != nil || len(hist.AlarmHistoryItems) != 0 {
		t.Fatalf("history after 30 days: %+v %v", hist, err)
	}
	if n := count(); n != 0 {
		t.Fatalf("%d history items stored after 30 days, want 0", n)
	}
}
