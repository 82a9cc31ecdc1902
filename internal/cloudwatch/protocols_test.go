package cloudwatch

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func postJSON(t *testing.T, env *testEnv, op, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", env.srv.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801."+op)
	req.Header.Set("X-Amzn-Query-Mode", "true")
	return do(t, env, req)
}

// testAuthorization is a SigV4 Authorization header scoped to CloudWatch;
// the handler does not verify signatures.
const testAuthorization = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240301/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=0"

func postForm(t *testing.T, env *testEnv, form url.Values) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", env.srv.URL+"/", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return do(t, env, req)
}

func do(t *testing.T, env *testEnv, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := env.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("x-amzn-RequestId") == "" {
		t.Errorf("%s reply has no x-amzn-RequestId", req.Header.Get("X-Amz-Target"))
	}
	return resp, b
}

// TestRawJSON speaks awsJson1.0 by hand, as botocore does: epoch-second
// timestamps both ways, __type plus X-Amzn-Query-Error on errors.
func TestRawJSON(t *testing.T) {
	env := newTestEnv(t)
	start := t0.Unix()
	resp, body := postJSON(t, env, "PutMetricData", `{"Namespace":"App","MetricData":[
		{"MetricName":"Requests","Value":3,"Unit":"Count","Timestamp":`+jsonNum(start+5)+`},
		{"MetricName":"Requests","Value":4.5,"Unit":"Count","Timestamp":`+jsonNum(start+61)+`.25}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("PutMetricData: %d %s", resp.StatusCode, body)
	}
	resp, body = postJSON(t, env, "GetMetricStatistics", `{"Namespace":"App","MetricName":"Requests",
		"StartTime":`+jsonNum(start)+`,"EndTime":`+jsonNum(start+120)+`,"Period":60,"Statistics":["Sum","SampleCount"]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("GetMetricStatistics: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
		t.Errorf("Content-Type %q", ct)
	}
	var out struct {
		Label      string
		Datapoints []map[string]any
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	want := []map[string]any{
		{"Timestamp": float64(start), "Sum": 3.0, "SampleCount": 1.0, "Unit": "Count"},
		{"Timestamp": float64(start + 60), "Sum": 4.5, "SampleCount": 1.0, "Unit": "Count"},
	}
	if diff := cmp.Diff(want, out.Datapoints); out.Label != "Requests" || diff != "" {
		t.Errorf("label %q, datapoints (-want +got):\n%s", out.Label, diff)
	}

	resp, body = postJSON(t, env, "GetMetricStatistics", `{"Namespace":"App","MetricName":"Requests",
		"StartTime":`+jsonNum(start)+`,"EndTime":`+jsonNum(start)+`,"Period":60,"Statistics":["Sum"]}`)
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || e.Type != "com.amazonaws.cloudwatch#InvalidParameterValueException" ||
		resp.Header.Get("X-Amzn-Query-Error") != "InvalidParameterValue;Sender" || e.Message == "" {
		t.Errorf("error reply %d %v %s", resp.StatusCode, resp.Header, body)
	}

	resp, body = postJSON(t, env, "DescribeAlarms", `{}`)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "UnknownOperationException") {
		t.Errorf("unknown operation: %d %s", resp.StatusCode, body)
	}
	resp, body = postJSON(t, env, "ListMetrics", `{"Namespace":`)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "SerializationException") {
		t.Errorf("malformed JSON: %d %s", resp.StatusCode, body)
	}
}

func jsonNum(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

type xmlDatapoint struct {
	Timestamp   string
	SampleCount *float64
	Sum         *float64
	Maximum     *float64
	Unit        string
	Extended    []struct {
		Key   string  `xml:"key"`
		Value float64 `xml:"value"`
	} `xml:"ExtendedStatistics>entry"`
}

// TestRawQuery speaks awsQuery by hand: form requests, XML replies in the
// 2010-08-01 namespace.
func TestRawQuery(t *testing.T) {
	env := newTestEnv(t)
	put := url.Values{
		"Action": {"PutMetricData"}, "Version": {"2010-08-01"}, "Namespace": {"App"},
		"MetricData.member.1.MetricName":                {"Latency"},
		"MetricData.member.1.Unit":                      {"Milliseconds"},
		"MetricData.member.1.Timestamp":                 {"2024-03-01T10:00:05Z"},
		"MetricData.member.1.Values.member.1":           {"10"},
		"MetricData.member.1.Values.member.2":           {"20"},
		"MetricData.member.1.Counts.member.1":           {"3"},
		"MetricData.member.1.Counts.member.2":           {"1"},
		"MetricData.member.1.Dimensions.member.1.Name":  {"Host"},
		"MetricData.member.1.Dimensions.member.1.Value": {"a"},
	}
	resp, body := postForm(t, env, put)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<PutMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">") {
		t.Fatalf("PutMetricData: %d %s", resp.StatusCode, body)
	}

	get := url.Values{
		"Action": {"GetMetricStatistics"}, "Version": {"2010-08-01"},
		"Namespace": {"App"}, "MetricName": {"Latency"},
		"Dimensions.member.1.Name": {"Host"}, "Dimensions.member.1.Value": {"a"},
		"StartTime": {"2024-03-01T10:00:00Z"}, "EndTime": {"2024-03-01T10:01:00.000Z"},
		"Period": {"60"}, "ExtendedStatistics.member.1": {"p50"}, "ExtendedStatistics.member.2": {"p99"},
	}
	resp, body = postForm(t, env, get)
	if resp.StatusCode != 200 {
		t.Fatalf("GetMetricStatistics: %d %s", resp.StatusCode, body)
	}
	var out struct {
		XMLName    xml.Name       `xml:"http://monitoring.amazonaws.com/doc/2010-08-01/ GetMetricStatisticsResponse"`
		Label      string         `xml:"GetMetricStatisticsResult>Label"`
		Datapoints []xmlDatapoint `xml:"GetMetricStatisticsResult>Datapoints>member"`
		RequestID  string         `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal(body, &out); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	if out.Label != "Latency" || len(out.Datapoints) != 1 || out.RequestID != resp.Header.Get("x-amzn-RequestId") {
		t.Fatalf("reply %+v from %s", out, body)
	}
	dp := out.Datapoints[0]
	got := map[string]float64{}
	for _, e := range dp.Extended {
		got[e.Key] = e.Value
	}
	if dp.Timestamp != "2024-03-01T10:00:00Z" || dp.Unit != "Milliseconds" || dp.Sum != nil ||
		!cmp.Equal(got, map[string]float64{"p50": 10, "p99": 20}) {
		t.Errorf("datapoint %+v, percentiles %v; body %s", dp, got, body)
	}

	list := url.Values{"Action": {"ListMetrics"}, "Version": {"2010-08-01"}, "Dimensions.member.1.Name": {"Host"}}
	resp, body = postForm(t, env, list)
	var lm struct {
		Metrics []struct {
			Namespace  string
			MetricName string
			Dimensions []struct{ Name, Value string } `xml:"Dimensions>member"`
		} `xml:"ListMetricsResult>Metrics>member"`
	}
	if err := xml.Unmarshal(body, &lm); err != nil || resp.StatusCode != 200 {
		t.Fatalf("ListMetrics: %d %v %s", resp.StatusCode, err, body)
	}
	if len(lm.Metrics) != 1 || lm.Metrics[0].MetricName != "Latency" || lm.Metrics[0].Dimensions[0].Value != "a" {
		t.Errorf("ListMetrics %+v", lm)
	}

	get.Set("Period", "sixty")
	resp, body = postForm(t, env, get)
	var errResp struct {
		Type      string `xml:"Error>Type"`
		Code      string `xml:"Error>Code"`
		Message   string `xml:"Error>Message"`
		RequestID string `xml:"RequestId"`
	}
	if err := xml.Unmarshal(body, &errResp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || errResp.Code != "InvalidParameterValue" || errResp.Type != "Sender" || errResp.RequestID == "" ||
		!strings.Contains(errResp.Message, "Period") {
		t.Errorf("error reply %d %+v", resp.StatusCode, errResp)
	}
	resp, body = postForm(t, env, url.Values{"Action": {"DescribeAlarms"}, "Version": {"2010-08-01"}})
	if resp.StatusCode != 400 || !strings.Contains(string(body), "<Code>InvalidAction</Code>") {
		t.Errorf("unknown action: %d %s", resp.StatusCode, body)
	}

	// GET with the parameters in the URL.
	req, _ := http.NewRequest("GET", env.srv.URL+"/?"+list.Encode(), nil)
	resp, body = do(t, env, req)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<MetricName>Latency</MetricName>") {
		t.Errorf("GET ListMetrics: %d %s", resp.StatusCode, body)
	}
}

func TestMatch(t *testing.T) {
	big := "Action=ListMetrics&Pad=" + strings.Repeat("x", 5000) + "&Version=2010-08-01"
	tests := []struct {
		name   string
		method string
		target string
		path   string
		ctype  string
		auth   string
		body   string
		want   bool
	}{
		{name: "rpcv2Cbor path", method: "POST", path: "/service/GraniteServiceVersion20100801/operation/GetMetricData", ctype: "application/cbor", want: true},
		{name: "rpcv2Cbor path under a base path", method: "POST", path: "/prefix/service/GraniteServiceVersion20100801/operation/ListMetrics", want: true},
		{name: "awsJson target", method: "POST", path: "/", target: "GraniteServiceVersion20100801.ListMetrics", ctype: "application/x-amz-json-1.0", want: true},
		{name: "SageMaker target", method: "POST", path: "/", target: "SageMaker.ListEndpoints", ctype: "application/x-amz-json-1.1"},
		{name: "awsQuery signed for monitoring", method: "POST", path: "/", ctype: "application/x-www-form-urlencoded; charset=utf-8",
			auth: "AWS4-HMAC-SHA256 Credential=AKID/20240301/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=abc", body: "Action=ListMetrics", want: true},
		{name: "awsQuery with Version in the body", method: "POST", path: "/", ctype: "application/x-www-form-urlencoded", body: "Action=ListMetrics&Version=2010-08-01", want: true},
		{name: "form for another API version", method: "POST", path: "/", ctype: "application/x-www-form-urlencoded", body: "Action=DescribeInstances&Version=2016-11-15"},
		{name: "form with Version beyond the peek", method: "POST", path: "/", ctype: "application/x-www-form-urlencoded", body: big},
		{name: "awsQuery GET", method: "GET", path: "/?Action=ListMetrics&Version=2010-08-01", want: true},
		{name: "invoke endpoint", method: "POST", path: "/endpoints/ep/invocations", ctype: "application/json", body: "Version=2010-08-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.target != "" {
				r.Header.Set("X-Amz-Target", tt.target)
			}
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if got := Match(r); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
			rest, err := io.ReadAll(r.Body)
			if err != nil || !bytes.Equal(rest, []byte(tt.body)) {
				t.Errorf("body after Match = %q (%v), want it intact", truncate(string(rest)), err)
			}
		})
	}
}

// TestCBORResponseHeaders checks the rpcv2Cbor reply headers the SDK's
// older deserializers insist on.
func TestCBORResponseHeaders(t *testing.T) {
	env := newTestEnv(t)
	for _, body := range []string{"\xa0", "\xff"} { // {} and garbage
		req, _ := http.NewRequest("POST", env.srv.URL+"/service/GraniteServiceVersion20100801/operation/ListMetrics", strings.NewReader(body))
		req.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
		req.Header.Set("Content-Type", "application/cbor")
		resp, _ := do(t, env, req)
		if resp.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" || resp.Header.Get("Content-Type") != "application/cbor" {
			t.Errorf("body %x: headers %v", body, resp.Header)
		}
		if want := map[string]int{"\xa0": 200, "\xff": 400}[body]; resp.StatusCode != want {
			t.Errorf("body %x: status %d, want %d", body, resp.StatusCode, want)
		}
	}
}
