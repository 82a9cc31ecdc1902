package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func newSDKClient(env *testEnv) *cloudwatch.Client {
	return cloudwatch.New(cloudwatch.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(env.srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:       env.srv.Client(),
		RetryMaxAttempts: 1,
	})
}

var sdkDims = []types.Dimension{
	{Name: aws.String("EndpointName"), Value: aws.String("my-ep")},
	{Name: aws.String("VariantName"), Value: aws.String("AllTraffic")},
}

// TestSDKPutThenRead drives the handler with aws-sdk-go-v2's CloudWatch
// client (rpcv2Cbor): it writes datapoints in the three PutMetricData forms
// and reads exact statistics back through every read operation.
func TestSDKPutThenRead(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t)
	cw := newSDKClient(env)

	// Minute 0: 10 values 1..10 at second i; minute 1: a statistic set and
	// a Values/Counts datum.
	var data []types.MetricDatum
	for i := 1; i <= 10; i++ {
		data = append(data, types.MetricDatum{
			MetricName: aws.String("Latency"), Dimensions: sdkDims, Unit: types.StandardUnitMilliseconds,
			Timestamp: aws.Time(t0.Add(time.Duration(i) * time.Second)), Value: aws.Float64(float64(i)),
		})
	}
	data = append(data,
		types.MetricDatum{
			MetricName: aws.String("Latency"), Dimensions: sdkDims, Unit: types.StandardUnitMilliseconds,
			Timestamp:       aws.Time(t0.Add(time.Minute)),
			StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(4), Sum: aws.Float64(100), Minimum: aws.Float64(10), Maximum: aws.Float64(40)},
		},
		types.MetricDatum{
			MetricName: aws.String("Latency"), Dimensions: sdkDims, Unit: types.StandardUnitMilliseconds,
			Timestamp: aws.Time(t0.Add(time.Minute + time.Second)),
			Values:    []float64{5, 50}, Counts: []float64{2, 1},
		},
		types.MetricDatum{MetricName: aws.String("Other"), Value: aws.Float64(1), Timestamp: aws.Time(t0)},
	)
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Hearth/Test"), MetricData: data}); err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}

	gms, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("Hearth/Test"), MetricName: aws.String("Latency"), Dimensions: sdkDims,
		StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(2 * time.Minute)), Period: aws.Int32(60),
		Statistics: []types.Statistic{types.StatisticSampleCount, types.StatisticSum, types.StatisticAverage, types.StatisticMinimum, types.StatisticMaximum},
	})
	if err != nil {
		t.Fatalf("GetMetricStatistics: %v", err)
	}
	want := []types.Datapoint{
		{Timestamp: aws.Time(t0), SampleCount: aws.Float64(10), Sum: aws.Float64(55), Average: aws.Float64(5.5), Minimum: aws.Float64(1), Maximum: aws.Float64(10), Unit: types.StandardUnitMilliseconds},
		{Timestamp: aws.Time(t0.Add(time.Minute)), SampleCount: aws.Float64(7), Sum: aws.Float64(160), Average: aws.Float64(160.0 / 7), Minimum: aws.Float64(5), Maximum: aws.Float64(50), Unit: types.StandardUnitMilliseconds},
	}
	if aws.ToString(gms.Label) != "Latency" {
		t.Errorf("Label = %q, want Latency", aws.ToString(gms.Label))
	}
	opts := []cmp.Option{cmpopts.IgnoreUnexported(types.Datapoint{}), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })}
	if diff := cmp.Diff(want, gms.Datapoints, opts...); diff != "" {
		t.Errorf("GetMetricStatistics (-want +got):\n%s", diff)
	}

	pcts, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("Hearth/Test"), MetricName: aws.String("Latency"), Dimensions: sdkDims,
		StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Minute)), Period: aws.Int32(60),
		ExtendedStatistics: []string{"p50", "p90", "p100"}, Unit: types.StandardUnitMilliseconds,
	})
	if err != nil {
		t.Fatalf("GetMetricStatistics percentiles: %v", err)
	}
	if len(pcts.Datapoints) != 1 {
		t.Fatalf("percentiles: %d datapoints, want 1", len(pcts.Datapoints))
	}
	if diff := cmp.Diff(map[string]float64{"p50": 5, "p90": 9, "p100": 10}, pcts.Datapoints[0].ExtendedStatistics); diff != "" {
		t.Errorf("ExtendedStatistics (-want +got):\n%s", diff)
	}

	// GetMetricData, ascending, paged two datapoints at a time across two
	// queries (one of which is not returned).
	input := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(2 * time.Minute)),
		ScanBy: types.ScanByTimestampAscending, MaxDatapoints: aws.Int32(2),
		MetricDataQueries: []types.MetricDataQuery{
			{Id: aws.String("sum10s"), MetricStat: &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String("Hearth/Test"), MetricName: aws.String("Latency"), Dimensions: sdkDims},
				Period: aws.Int32(10), Stat: aws.String("Sum"),
			}},
			{Id: aws.String("hidden"), ReturnData: aws.Bool(false), MetricStat: &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String("Hearth/Test"), MetricName: aws.String("Other")},
				Period: aws.Int32(60), Stat: aws.String("Sum"),
			}},
			{Id: aws.String("p50"), Label: aws.String("median"), MetricStat: &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String("Hearth/Test"), MetricName: aws.String("Latency"), Dimensions: sdkDims},
				Period: aws.Int32(60), Stat: aws.String("p50"),
			}},
		},
	}
	type series struct {
		label  string
		times  []time.Time
		values []float64
	}
	got := map[string]*series{}
	pages := 0
	for p := cloudwatch.NewGetMetricDataPaginator(cw, input); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("GetMetricData page %d: %v", pages, err)
		}
		pages++
		for _, r := range page.MetricDataResults {
			s := got[aws.ToString(r.Id)]
			if s == nil {
				s = &series{label: aws.ToString(r.Label)}
				got[aws.ToString(r.Id)] = s
			}
			for i := range r.Timestamps {
				s.times = append(s.times, r.Timestamps[i].UTC())
			}
			s.values = append(s.values, r.Values...)
		}
	}
	// Seconds 1..9 fall in the first 10 s slot, 10 in the second; minute 1
	// holds the statistic set (sum 100) and the values (5·2+50 = 60).
	wantSeries := map[string]*series{
		"sum10s": {label: "Latency", times: []time.Time{t0, t0.Add(10 * time.Second), t0.Add(time.Minute)}, values: []float64{45, 10, 160}},
		"p50":    {label: "median", times: []time.Time{t0}, values: []float64{5}},
	}
	if diff := cmp.Diff(wantSeries, got, cmp.AllowUnexported(series{})); diff != "" {
		t.Errorf("GetMetricData (-want +got):\n%s", diff)
	}
	if pages != 2 {
		t.Errorf("GetMetricData took %d pages with MaxDatapoints 2, want 2", pages)
	}
	// The p50 of minute 1 is unavailable (a statistic set with min ≠ max).

	lm, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("Hearth/Test")})
	if err != nil {
		t.Fatalf("ListMetrics: %v", err)
	}
	var names []string
	for _, m := range lm.Metrics {
		names = append(names, fmt.Sprintf("%s %s %d", aws.ToString(m.Namespace), aws.ToString(m.MetricName), len(m.Dimensions)))
	}
	if diff := cmp.Diff([]string{"Hearth/Test Latency 2", "Hearth/Test Other 0"}, names); diff != "" {
		t.Errorf("ListMetrics (-want +got):\n%s", diff)
	}
	lm, err = cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Dimensions: []types.DimensionFilter{{Name: aws.String("EndpointName"), Value: aws.String("my-ep")}}})
	if err != nil || len(lm.Metrics) != 1 || aws.ToString(lm.Metrics[0].MetricName) != "Latency" {
		t.Errorf("ListMetrics by dimension = %+v, %v; want only Latency", lm, err)
	}
}

// TestSDKGzipAndPaging puts 1,000 datums — enough for the SDK to gzip the
// body — and pages ListMetrics through 1,000 metrics.
func TestSDKGzipAndPaging(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t)
	cw := newSDKClient(env)
	var data []types.MetricDatum
	for i := range 1000 {
		data = append(data, types.MetricDatum{
			MetricName: aws.String(fmt.Sprintf("M%04d", i)), Value: aws.Float64(float64(i)),
			Timestamp: aws.Time(t0), Dimensions: sdkDims,
		})
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Bulk"), MetricData: data}); err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	env.mu.Lock()
	gz := slices.ContainsFunc(env.seen, func(h http.Header) bool { return h.Get("Content-Encoding") == "gzip" })
	env.mu.Unlock()
	if !gz {
		t.Error("the SDK did not gzip a 1,000-datum PutMetricData; the gzip path is untested")
	}
	var all []string
	pages := 0
	for p := cloudwatch.NewListMetricsPaginator(cw, &cloudwatch.ListMetricsInput{Namespace: aws.String("Bulk")}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, m := range page.Metrics {
			all = append(all, aws.ToString(m.MetricName))
		}
	}
	if len(all) != 1000 || pages != 2 || !slices.IsSorted(all) {
		t.Errorf("ListMetrics paged %d metrics in %d pages (sorted %v), want 1000 in 2", len(all), pages, slices.IsSorted(all))
	}
	gms, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("Bulk"), MetricName: aws.String("M0999"), Dimensions: sdkDims,
		StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Minute)), Period: aws.Int32(60),
		Statistics: []types.Statistic{types.StatisticSum},
	})
	if err != nil || len(gms.Datapoints) != 1 || aws.ToFloat64(gms.Datapoints[0].Sum) != 999 {
		t.Errorf("GetMetricStatistics after gzip put = %+v, %v; want one datapoint with Sum 999", gms, err)
	}
}

// TestSDKErrors checks that the SDK maps errors to its modeled types with
// the awsQuery codes.
func TestSDKErrors(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t)
	cw := newSDKClient(env)
	base := func() *cloudwatch.GetMetricStatisticsInput {
		return &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String("NS"), MetricName: aws.String("M"),
			StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Hour)), Period: aws.Int32(60),
			Statistics: []types.Statistic{types.StatisticSum},
		}
	}
	tests := []struct {
		name   string
		call   func() error
		code   string
		target any
	}{
		{"bad period", func() error {
			in := base()
			in.Period = aws.Int32(7)
			_, err := cw.GetMetricStatistics(ctx, in)
			return err
		}, "InvalidParameterValue", new(*types.InvalidParameterValueException)},
		{"too many datapoints", func() error {
			in := base()
			in.Period, in.EndTime = aws.Int32(1), aws.Time(t0.Add(time.Hour))
			_, err := cw.GetMetricStatistics(ctx, in)
			return err
		}, "InvalidParameterCombination", new(*types.InvalidParameterCombinationException)},
		{"no statistics", func() error {
			in := base()
			in.Statistics = nil
			_, err := cw.GetMetricStatistics(ctx, in)
			return err
		}, "MissingParameter", new(*types.MissingRequiredParameterException)},
		{"bad next token", func() error {
			_, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{NextToken: aws.String("garbage")})
			return err
		}, "InvalidNextToken", new(*types.InvalidNextToken)},
		{"metric math", func() error {
			_, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
				StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Hour)),
				MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("e1"), Expression: aws.String("SUM(METRICS())")}},
			})
			return err
		}, "InvalidParameterValue", new(*types.InvalidParameterValueException)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ae smithy.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an API error", err)
			}
			if ae.ErrorCode() != tt.code || ae.ErrorFault() != smithy.FaultClient {
				t.Errorf("code %q fault %v, want %q client", ae.ErrorCode(), ae.ErrorFault(), tt.code)
			}
			if !errors.As(err, tt.target) {
				t.Errorf("error %T is not %T", errors.Unwrap(err), tt.target)
			}
			if ae.ErrorMessage() == "" {
				t.Error("empty error message")
			}
		})
	}
}

// TestSDKDefaultLabelsTellQueriesApart: queries of one metric that differ
// in statistic or dimensions get default labels naming the difference.
func TestSDKDefaultLabelsTellQueriesApart(t *testing.T) {
	env := newTestEnv(t)
	cw := newSDKClient(env)
	q := func(id, stat string, dims []types.Dimension, label *string) types.MetricDataQuery {
		return types.MetricDataQuery{Id: aws.String(id), Label: label, MetricStat: &types.MetricStat{Period: aws.Int32(60), Stat: aws.String(stat),
			Metric: &types.Metric{Namespace: aws.String("AWS/SageMaker"), MetricName: aws.String("Invocations"), Dimensions: dims}}}
	}
	other := []types.Dimension{{Name: aws.String("EndpointName"), Value: aws.String("other-ep")}, sdkDims[1]}
	for _, tc := range []struct {
		name    string
		queries []types.MetricDataQuery
		want    []string
	}{
		{"one query", []types.MetricDataQuery{q("a", "Sum", sdkDims, nil)}, []string{"Invocations"}},
		{"two statistics", []types.MetricDataQuery{q("a", "Sum", sdkDims, nil), q("b", "Average", sdkDims, nil)}, []string{"Invocations Sum", "Invocations Average"}},
		{"two endpoints", []types.MetricDataQuery{q("a", "Sum", sdkDims, nil), q("b", "Sum", other, nil)}, []string{"Invocations my-ep AllTraffic", "Invocations other-ep AllTraffic"}},
		{"explicit labels stay", []types.MetricDataQuery{q("a", "Sum", sdkDims, aws.String("mine")), q("b", "p90", sdkDims, nil)}, []string{"mine", "Invocations"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Hour)), MetricDataQueries: tc.queries})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range out.MetricDataResults {
				got = append(got, aws.ToString(r.Label))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("labels %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSDKMessagesInAWSWords(t *testing.T) {
	cw := newSDKClient(newTestEnv(t))
	ctx := context.Background()
	_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("N"), MetricData: []types.MetricDatum{
		{MetricName: aws.String("m"), Value: aws.Float64(1)},
		{MetricName: aws.String("m"), Value: aws.Float64(1), StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(1), Sum: aws.Float64(1), Minimum: aws.Float64(1), Maximum: aws.Float64(1)}}}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorMessage() != "The parameters MetricData.member.2.Value and MetricData.member.2.StatisticValues are mutually exclusive and you have specified both." {
		t.Fatalf("both Value and StatisticValues: %v", err)
	}
	_, err = cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("N"), MetricData: []types.MetricDatum{
		{MetricName: aws.String("m"), Value: aws.Float64(1), Unit: "Furlongs"}}})
	if !errors.As(err, &ae) || !strings.HasPrefix(ae.ErrorMessage(), "The parameter MetricData.member.1.Unit must be a value in the set [ Seconds, Microseconds, Milliseconds, Bytes,") ||
		!strings.HasSuffix(ae.ErrorMessage(), "Count/Second, None ].") {
		t.Fatalf("bad unit: %v", err)
	}
}
