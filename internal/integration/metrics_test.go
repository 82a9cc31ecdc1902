package integration

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// The known split of TestMetricsCountExactly.
var wantSums = map[string]float64{
	"Invocations":                                          7, // 3 + 2 + 2 served by a worker; the throttled one is not an invocation
	"Invocation4XXErrors":                                  3, // 2 model 400s + 1 throttle
	"Invocation5XXErrors":                                  0,
	"InvocationModelErrors":                                2,
	"ServerlessProvisionedConcurrencyInvocations":          6,
	"ServerlessProvisionedConcurrencySpilloverInvocations": 1,
}

func post(t *testing.T, s *server, ep, body string) int {
	t.Helper()
	resp, err := http.Post(s.url()+"/endpoints/"+ep+"/invocations", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// makeTraffic sends the known split to endpoint "m" (MaxConcurrency 2,
// provisioned concurrency 1).
func makeTraffic(t *testing.T, s *server) {
	for i := 0; i < 3; i++ { // 3 × warm provisioned
		if code := post(t, s, "m", "x"); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); post(t, s, "m", "sleep 900ms") }() // provisioned
	waitBusy(t, s, "m", 1)
	wg.Add(1)
	go func() { defer wg.Done(); post(t, s, "m", "sleep 900ms") }() // spillover, cold
	waitBusy(t, s, "m", 2)
	if code := post(t, s, "m", "x"); code != http.StatusTooManyRequests { // throttled
		t.Fatalf("third concurrent request: status %d, want 429", code)
	}
	wg.Wait()
	for i := 0; i < 2; i++ { // 2 × model error, provisioned
		if code := post(t, s, "m", "status 400"); code != http.StatusFailedDependency {
			t.Fatalf("model error: status %d", code)
		}
	}
}

var busyRE = regexp.MustCompile(`(?m)^hearth_workers\{endpoint="m",kind="[^"]+",state="(?:busy|starting)",variant="AllTraffic"\} (\d+)`)

// waitBusy waits until n workers of ep are busy or starting (Prometheus census).
func waitBusy(t *testing.T, s *server, ep string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		total := 0
		for _, m := range busyRE.FindAllStringSubmatch(scrape(t, s), -1) {
			k, _ := strconv.Atoi(m[1])
			total += k
		}
		if total >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s never had %d busy workers", ep, n)
}

func scrape(t *testing.T, s *server) string {
	t.Helper()
	resp, err := http.Get(s.url() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestMetricsCountExactlyOnEveryProtocol(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--metric-period", "1s")
	deployEcho(t, s, "m", 2, 1, nil)
	start := time.Now().Add(-2 * time.Minute).Truncate(time.Minute)
	makeTraffic(t, s)
	end := time.Now().Add(2 * time.Minute).Truncate(time.Minute)
	dims := []cwtypes.Dimension{{Name: aws.String("EndpointName"), Value: aws.String("m")}, {Name: aws.String("VariantName"), Value: aws.String("AllTraffic")}}

	// aws-sdk-go-v2: rpcv2Cbor.
	cw := cloudwatch.NewFromConfig(s.awsConfig("AKIDEXAMPLE", "secret"), func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(s.url()) })
	sdkSum := func(name string, stat cwtypes.Statistic) float64 {
		out, err := cw.GetMetricStatistics(context.Background(), &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String("AWS/SageMaker"), MetricName: aws.String(name), Dimensions: dims,
			StartTime: aws.Time(start), EndTime: aws.Time(end), Period: aws.Int32(60), Statistics: []cwtypes.Statistic{stat},
		})
		if err != nil {
			t.Fatalf("GetMetricStatistics %s: %v", name, err)
		}
		total := 0.0
		for _, dp := range out.Datapoints {
			switch stat {
			case cwtypes.StatisticSum:
				total += aws.ToFloat64(dp.Sum)
			case cwtypes.StatisticSampleCount:
				total += aws.ToFloat64(dp.SampleCount)
			}
		}
		return total
	}
	for name, want := range wantSums {
		if got := sdkSum(name, cwtypes.StatisticSum); got != want {
			t.Errorf("CBOR: %s Sum = %v, want %v", name, got, want)
		}
	}
	for _, name := range []string{"ModelLatency", "OverheadLatency"} {
		if got := sdkSum(name, cwtypes.StatisticSampleCount); got != 7 {
			t.Errorf("CBOR: %s SampleCount = %v, want 7 (one per invocation)", name, got)
		}
	}
	if got := sdkSum("ModelSetupTime", cwtypes.StatisticSampleCount); got != 1 {
		t.Errorf("CBOR: ModelSetupTime SampleCount = %v, want 1 (one cold start)", got)
	}
	// GetMetricData with a percentile, on the same protocol.
	gmd, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start), EndTime: aws.Time(end),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("p99"), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/SageMaker"), MetricName: aws.String("ModelLatency"), Dimensions: dims},
			Period: aws.Int32(60), Stat: aws.String("p99")}}},
	})
	if err != nil || len(gmd.MetricDataResults) != 1 || len(gmd.MetricDataResults[0].Values) == 0 {
		t.Fatalf("GetMetricData p99: %+v %v", gmd, err)
	}

	// awsJson1.0, as boto3 and the pip CLI send it.
	jsonSum := func(name string) float64 {
		body := fmt.Sprintf(`{"Namespace":"AWS/SageMaker","MetricName":%q,"Dimensions":[{"Name":"EndpointName","Value":"m"},{"Name":"VariantName","Value":"AllTraffic"}],"StartTime":%d,"EndTime":%d,"Period":60,"Statistics":["Sum"]}`,
			name, start.Unix(), end.Unix())
		req, _ := http.NewRequest("POST", s.url()+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801.GetMetricStatistics")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ Datapoints []struct{ Sum float64 } }
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("JSON 1.0 %s: status %d %v", name, resp.StatusCode, err)
		}
		total := 0.0
		for _, dp := range out.Datapoints {
			total += dp.Sum
		}
		return total
	}
	// awsQuery with an XML reply, as AWS CLI v2.9 sends it.
	querySum := func(name string) float64 {
		form := url.Values{"Action": {"GetMetricStatistics"}, "Version": {"2010-08-01"}, "Namespace": {"AWS/SageMaker"}, "MetricName": {name},
			"Dimensions.member.1.Name": {"EndpointName"}, "Dimensions.member.1.Value": {"m"},
			"Dimensions.member.2.Name": {"VariantName"}, "Dimensions.member.2.Value": {"AllTraffic"},
			"StartTime": {start.UTC().Format(time.RFC3339)}, "EndTime": {end.UTC().Format(time.RFC3339)},
			"Period": {"60"}, "Statistics.member.1": {"Sum"}}
		resp, err := http.Post(s.url()+"/", "application/x-www-form-urlencoded; charset=utf-8", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Result struct {
				Datapoints []struct {
					Sum float64 `xml:"Sum"`
				} `xml:"Datapoints>member"`
			} `xml:"GetMetricStatisticsResult"`
		}
		if err := xml.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("awsQuery %s: status %d %v", name, resp.StatusCode, err)
		}
		total := 0.0
		for _, dp := range out.Result.Datapoints {
			total += dp.Sum
		}
		return total
	}
	for name, want := range wantSums {
		if got := jsonSum(name); got != want {
			t.Errorf("JSON 1.0: %s Sum = %v, want %v", name, got, want)
		}
		if got := querySum(name); got != want {
			t.Errorf("awsQuery: %s Sum = %v, want %v", name, got, want)
		}
	}

	// Prometheus.
	text := scrape(t, s)
	for _, want := range []string{
		`hearth_invocations_total{endpoint="m",served="warm-provisioned",variant="AllTraffic"} 6`,
		`hearth_invocations_total{endpoint="m",served="cold",variant="AllTraffic"} 1`,
		`hearth_throttled_requests_total{endpoint="m",variant="AllTraffic"} 1`,
		`hearth_cold_starts_total{endpoint="m",variant="AllTraffic"} 1`,
		`hearth_model_latency_seconds_count{endpoint="m",variant="AllTraffic"} 7`,
		`hearth_provisioned_concurrency{endpoint="m",variant="AllTraffic"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// boto3 and the pip AWS CLI (awsJson1.0).
	if _, err := exec.LookPath("aws"); err == nil {
		out := awsCLI(t, s, "cloudwatch", "get-metric-statistics", "--namespace", "AWS/SageMaker", "--metric-name", "Invocations",
			"--dimensions", "Name=EndpointName,Value=m", "Name=VariantName,Value=AllTraffic",
			"--start-time", start.UTC().Format(time.RFC3339), "--end-time", end.UTC().Format(time.RFC3339),
			"--period", "60", "--statistics", "Sum")
		var res struct{ Datapoints []struct{ Sum float64 } }
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("aws cloudwatch: %s", out)
		}
		total := 0.0
		for _, dp := range res.Datapoints {
			total += dp.Sum
		}
		if total != 7 {
			t.Errorf("aws CLI: Invocations Sum = %v, want 7", total)
		}
	}
	if exec.Command("python3", "-c", "import boto3").Run() == nil {
		script := fmt.Sprintf(`
import boto3, datetime
cw = boto3.client("cloudwatch", endpoint_url=%q, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
dims = [{"Name": "EndpointName", "Value": "m"}, {"Name": "VariantName", "Value": "AllTraffic"}]
start, end = datetime.datetime.fromtimestamp(%d, datetime.timezone.utc), datetime.datetime.fromtimestamp(%d, datetime.timezone.utc)
for name in ["Invocations", "ServerlessProvisionedConcurrencySpilloverInvocations", "Invocation4XXErrors"]:
    r = cw.get_metric_statistics(Namespace="AWS/SageMaker", MetricName=name, Dimensions=dims, StartTime=start, EndTime=end, Period=60, Statistics=["Sum"])
    print(name, int(sum(d["Sum"] for d in r["Datapoints"])))
`, s.url(), start.Unix(), end.Unix())
		out, err := exec.Command("python3", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("boto3: %v\n%s", err, out)
		}
		for _, want := range []string{"Invocations 7\n", "ServerlessProvisionedConcurrencySpilloverInvocations 1\n", "Invocation4XXErrors 3\n"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("boto3 output lacks %q:\n%s", want, out)
			}
		}
	}
}

// TestIdleProvisionedPeriodsReadZeroUtilization: a provisioned endpoint
// with no traffic yields utilization datapoints of 0, not missing data.
func TestIdleProvisionedPeriodsReadZeroUtilization(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--metric-period", "1s")
	deployEcho(t, s, "idle", 2, 1, nil)
	time.Sleep(3500 * time.Millisecond) // three full 1-second periods, closed by the server's loop
	cw := cloudwatch.NewFromConfig(s.awsConfig("AKIDEXAMPLE", "secret"), func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(s.url()) })
	now := time.Now()
	out, err := cw.GetMetricStatistics(context.Background(), &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("AWS/SageMaker"), MetricName: aws.String("ServerlessProvisionedConcurrencyUtilization"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("EndpointName"), Value: aws.String("idle")}, {Name: aws.String("VariantName"), Value: aws.String("AllTraffic")}},
		StartTime:  aws.Time(now.Add(-time.Minute)), EndTime: aws.Time(now), Period: aws.Int32(1),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticAverage, cwtypes.StatisticMaximum},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Datapoints) < 2 {
		t.Fatalf("idle provisioned endpoint has %d utilization datapoints, want one per closed period", len(out.Datapoints))
	}
	for _, dp := range out.Datapoints {
		if aws.ToFloat64(dp.Average) != 0 || aws.ToFloat64(dp.Maximum) != 0 {
			t.Fatalf("idle period utilization %v/%v, want 0", aws.ToFloat64(dp.Average), aws.ToFloat64(dp.Maximum))
		}
	}
}
