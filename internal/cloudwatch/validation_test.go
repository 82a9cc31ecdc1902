package cloudwatch

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"hearth/internal/metrics"
)

// encodeForm is the test's awsQuery serializer, written independently of
// decodeQuery in the way botocore serializes.
func encodeForm(form url.Values, prefix string, v reflect.Value) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Type() == timestampType {
		form.Set(prefix, v.Interface().(Timestamp).UTC().Format(time.RFC3339Nano))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			name, _ := memberName(v.Type().Field(i))
			encodeForm(form, joinPath(prefix, name), v.Field(i))
		}
	case reflect.Slice:
		for i := range v.Len() {
			encodeForm(form, fmt.Sprintf("%s.member.%d", prefix, i+1), v.Index(i))
		}
	case reflect.Map:
		for i, k := range v.MapKeys() {
			encodeForm(form, fmt.Sprintf("%s.entry.%d.key", prefix, i+1), k)
			encodeForm(form, fmt.Sprintf("%s.entry.%d.value", prefix, i+1), v.MapIndex(k))
		}
	case reflect.String:
		form.Set(prefix, v.String())
	case reflect.Float64:
		form.Set(prefix, strconv.FormatFloat(v.Float(), 'g', -1, 64))
	case reflect.Int32:
		form.Set(prefix, strconv.FormatInt(v.Int(), 10))
	case reflect.Bool:
		form.Set(prefix, strconv.FormatBool(v.Bool()))
	}
}

// send issues one operation in one protocol and returns the status and
// the error code the client would see ("" on success).
func send(t *testing.T, env *testEnv, proto protocol, op string, in any) (int, string) {
	t.Helper()
	var req *http.Request
	switch proto {
	case protoJSON:
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		req, _ = http.NewRequest("POST", env.srv.URL+"/", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", jsonTargetPrefix+op)
	case protoCBOR:
		b, err := cbor.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		req, _ = http.NewRequest("POST", env.srv.URL+cborPathMarker+op, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/cbor")
		req.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
	case protoQuery:
		form := url.Values{"Action": {op}, "Version": {apiVersion}}
		encodeForm(form, "", reflect.ValueOf(in))
		req, _ = http.NewRequest("POST", env.srv.URL+"/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		// Encode sorts keys, putting Version after large lists; the
		// credential scope is what routes such requests (see Match).
		req.Header.Set("Authorization", testAuthorization)
	}
	resp, body := do(t, env, req)
	if resp.StatusCode == 200 {
		return 200, ""
	}
	switch proto {
	case protoQuery:
		var e struct {
			Code string `xml:"Error>Code"`
		}
		if err := xml.Unmarshal(body, &e); err != nil {
			t.Fatalf("error body %s: %v", body, err)
		}
		return resp.StatusCode, e.Code
	default:
		var e map[string]string
		var err error
		if proto == protoJSON {
			err = json.Unmarshal(body, &e)
		} else {
			err = cbor.Unmarshal(body, &e)
		}
		if err != nil || e["message"] == "" {
			t.Fatalf("error body %x: %v", body, err)
		}
		code, fault, _ := strings.Cut(resp.Header.Get("X-Amzn-Query-Error"), ";")
		if fault != "Sender" {
			t.Errorf("X-Amzn-Query-Error fault %q, want Sender", fault)
		}
		shape := map[string]string{
			"InvalidParameterValue":       "InvalidParameterValueException",
			"MissingParameter":            "MissingRequiredParameterException",
			"InvalidParameterCombination": "InvalidParameterCombinationException",
			"InvalidNextToken":            "InvalidNextToken",
		}[code]
		if want := "com.amazonaws.cloudwatch#" + shape; e["__type"] != want {
			t.Errorf("__type %q, want %q", e["__type"], want)
		}
		return resp.StatusCode, code
	}
}

type validationCase struct {
	name     string
	op       string
	in       any
	code     string // "" for a valid request
	skipJSON bool   // NaN cannot be written in JSON
}

func validationCases() []validationCase {
	now := t0.Add(time.Hour)
	ts := func(t time.Time) *Timestamp { return &Timestamp{Time: t} }
	dims := func(n int) []dimension {
		d := make([]dimension, n)
		for i := range d {
			d[i] = dimension{Name: ptr(fmt.Sprintf("D%d", i)), Value: ptr("v")}
		}
		return d
	}
	gms := func(mod func(*getMetricStatisticsInput)) *getMetricStatisticsInput {
		in := &getMetricStatisticsInput{
			Namespace: ptr("NS"), MetricName: ptr("M"), StartTime: ts(t0), EndTime: ts(t0.Add(time.Hour)),
			Period: ptr[int32](60), Statistics: []string{"Sum"},
		}
		mod(in)
		return in
	}
	stat := func() *metricStat {
		return &metricStat{Metric: &metric{Namespace: ptr("NS"), MetricName: ptr("M")}, Period: ptr[int32](60), Stat: ptr("Average")}
	}
	gmd := func(mod func(*getMetricDataInput)) *getMetricDataInput {
		in := &getMetricDataInput{
			StartTime: ts(t0), EndTime: ts(t0.Add(time.Hour)),
			MetricDataQueries: []metricDataQuery{{ID: ptr("m1"), MetricStat: stat()}},
		}
		mod(in)
		return in
	}
	lm := func(mod func(*listMetricsInput)) *listMetricsInput {
		in := &listMetricsInput{}
		mod(in)
		return in
	}
	pmd := func(mod func(*putMetricDataInput)) *putMetricDataInput {
		in := &putMetricDataInput{
			Namespace:  ptr("NS"),
			MetricData: []metricDatum{{MetricName: ptr("M"), Value: ptr(1.0), Timestamp: ts(now)}},
		}
		mod(in)
		return in
	}
	datum := func(mod func(*metricDatum)) func(*putMetricDataInput) {
		return func(in *putMetricDataInput) { mod(&in.MetricData[0]) }
	}
	const (
		ipv  = "InvalidParameterValue"
		mp   = "MissingParameter"
		ipc  = "InvalidParameterCombination"
		inxt = "InvalidNextToken"
	)
	manyQueries := make([]metricDataQuery, 501)
	for i := range manyQueries {
		manyQueries[i] = metricDataQuery{ID: ptr(fmt.Sprintf("q%d", i)), MetricStat: stat()}
	}
	manyDatums := make([]metricDatum, 1001)
	for i := range manyDatums {
		manyDatums[i] = metricDatum{MetricName: ptr("M"), Value: ptr(1.0)}
	}
	filters := make([]dimensionFilter, 11)
	for i := range filters {
		filters[i] = dimensionFilter{Name: ptr(fmt.Sprintf("D%d", i))}
	}
	return []validationCase{
		// GetMetricStatistics
		{name: "GMS valid", op: "GetMetricStatistics", in: gms(func(*getMetricStatisticsInput) {})},
		{name: "GMS 1440 datapoints is the limit", op: "GetMetricStatistics", in: gms(func(in *getMetricStatisticsInput) { in.EndTime = ts(t0.Add(1440 * time.Minute)) })},
		{name: "GMS missing Namespace", op: "GetMetricStatistics", code: mp, in: gms(func(in *getMetricStatisticsInput) { in.Namespace = nil })},
		{name: "GMS missing MetricName", op: "GetMetricStatistics", code: mp, in: gms(func(in *getMetricStatisticsInput) { in.MetricName = nil })},
		{name: "GMS missing StartTime", op: "GetMetricStatistics", code: mp, in: gms(func(in *getMetricStatisticsInput) { in.StartTime = nil })},
		{name: "GMS missing EndTime", op: "GetMetricStatistics", code: mp, in: gms(func(in *getMetricStatisticsInput) { in.EndTime = nil })},
		{name: "GMS missing Period", op: "GetMetricStatistics", code: mp, in: gms(func(in *getMetricStatisticsInput) { in.Period = nil })},
		{name: "GMS Namespace too long", op: "GetMetricStatistics", code: ipv, in: gms(func(in *getMetricStatisticsInput) { in.Namespace = ptr(strings.Repeat("n", 256)) })},
		{name: "GMS Namespace starting with a colon", op: "GetMetricStatistics", code: ipv, in: gms(func(in *getMetricStatisticsInput) { in.Namespace = ptr(":x") })},
		{name: "GMS empty MetricName", op: "GetMetricStatistics", code: ipv, in: gms(func(in *getMetricStatisticsInput) { in.MetricName = ptr("") })},
		{name: "GMS Period 0", op: "GetMetricStatistics", code: ipv, in: gms(func(in *getMetricStatisticsInput) { in.Period = ptr[int32](0) })},
		{name: "GMS Period 45", op: "GetMetricStatistics", code: ipv, in: gms(func(in *getMetricStatisticsInput) { in.Period = ptr[int32](45) })},
		{name: "GMS Period 90", op: "GetMetricStatistics", code: ipv, in: gms(func(in *getMetricStatisticsInput) { in.Period = ptr[int32](90) })},
		{name: "GMS StartTime equal to EndTime", op: "GetMetricStatistics", code: ipv, in: gms(func(in *getMetricStatisticsInput) { in.EndTime = in.StartTime })},
		{name: "GMS StartTime after EndTime", op: "GetMetricStatistics", code: ipv, in: gms(func(in *getMetricStatisticsInput) { in.StartTime = ts(t0.Add(2 * time.Hour)) })},
		{name: "GMS no statistics", op: "GetMetricStatistics", code: mp, in: gms(func(in *getMetricStatisticsInput) { in.Statistics = nil })},
		{name: "GMS both kinds of statistics", op: "GetMetricStatistics", code: ipc, in: gms(func(in *getMetricStatisticsInput) { in.ExtendedStatistics = []string{"p99"} })},
		{name: "GMS six statistics", op: "GetMetricStatistics", code: ipv, in: gms(func(in *getMetricStatisticsInput) {
			in.Statistics = []string{"Sum", "Average", "Minimum", "Maximum", "SampleCount", "Sum"}
		})},
		{name: "GMS unknown statistic", op: "GetMetricStatistics", code: ipv, in: gms(func(in *getMetricStatisticsInput) { in.Statistics = []string{"Median"} })},
		{name: "GMS eleven percentiles", op: "GetMetricStatistics", code: ipv, in: gms(func(in *getMetricStatisticsInput) {
			in.Statistics, in.ExtendedStatistics = nil, strings.Split("p1,p2,p3,p4,p5,p6,p7,p8,p9,p10,p11", ",")
		})},
		{name: "GMS percentile above 100", op: "GetMetricStatistics", code: ipv, in: gms(func(in *getMetricStatisticsInput) {
			in.Statistics, in.ExtendedStatistics = nil, []string{"p100.1"}
		})},
		{name: "GMS trimmed mean", op: "GetMetricStatistics", code: ipv, in: gms(func(in *getMetricStatisticsInput) {
			in.Statistics, in.ExtendedStatistics = nil, []string{"tm99"}
		})},
		{name: "GMS unknown unit", op: "GetMetricStatistics", code: ipv, in: gms(func(in *getMetricStatisticsInput) { in.Unit = ptr("Furlongs") })},
		{name: "GMS 31 dimensions", op: "GetMetricStatistics", code: ipv, in: gms(func(in *getMetricStatisticsInput) { in.Dimensions = dims(31) })},
		{name: "GMS dimension without value", op: "GetMetricStatistics", code: mp, in: gms(func(in *getMetricStatisticsInput) { in.Dimensions = []dimension{{Name: ptr("D")}} })},
		{name: "GMS duplicate dimension names", op: "GetMetricStatistics", code: ipv, in: gms(func(in *getMetricStatisticsInput) {
			in.Dimensions = []dimension{{Name: ptr("D"), Value: ptr("a")}, {Name: ptr("D"), Value: ptr("b")}}
		})},
		{name: "GMS 1441 datapoints", op: "GetMetricStatistics", code: ipc, in: gms(func(in *getMetricStatisticsInput) { in.EndTime = ts(t0.Add(1441 * time.Minute)) })},

		// GetMetricData
		{name: "GMD valid", op: "GetMetricData", in: gmd(func(*getMetricDataInput) {})},
		{name: "GMD no queries", op: "GetMetricData", code: mp, in: gmd(func(in *getMetricDataInput) { in.MetricDataQueries = nil })},
		{name: "GMD 501 queries", op: "GetMetricData", code: ipv, in: gmd(func(in *getMetricDataInput) { in.MetricDataQueries = manyQueries })},
		{name: "GMD missing StartTime", op: "GetMetricData", code: mp, in: gmd(func(in *getMetricDataInput) { in.StartTime = nil })},
		{name: "GMD StartTime after EndTime", op: "GetMetricData", code: ipv, in: gmd(func(in *getMetricDataInput) { in.StartTime, in.EndTime = in.EndTime, in.StartTime })},
		{name: "GMD missing Id", op: "GetMetricData", code: mp, in: gmd(func(in *getMetricDataInput) { in.MetricDataQueries[0].ID = nil })},
		{name: "GMD Id starting with a digit", op: "GetMetricData", code: ipv, in: gmd(func(in *getMetricDataInput) { in.MetricDataQueries[0].ID = ptr("1m") })},
		{name: "GMD Id starting with a capital", op: "GetMetricData", code: ipv, in: gmd(func(in *getMetricDataInput) { in.MetricDataQueries[0].ID = ptr("Mx") })},
		{name: "GMD duplicate Ids", op: "GetMetricData", code: ipv, in: gmd(func(in *getMetricDataInput) {
			in.MetricDataQueries = append(in.MetricDataQueries, metricDataQuery{ID: ptr("m1"), MetricStat: stat()})
		})},
		{name: "GMD metric math", op: "GetMetricData", code: ipv, in: gmd(func(in *getMetricDataInput) {
			in.MetricDataQueries[0] = metricDataQuery{ID: ptr("e1"), Expression: ptr("SUM(METRICS())")}
		})},
		{name: "GMD MetricStat and Expression", op: "GetMetricData", code: ipc, in: gmd(func(in *getMetricDataInput) { in.MetricDataQueries[0].Expression = ptr("m1*2") })},
		{name: "GMD neither MetricStat nor Expression", op: "GetMetricData", code: mp, in: gmd(func(in *getMetricDataInput) { in.MetricDataQueries[0].MetricStat = nil })},
		{name: "GMD missing Metric", op: "GetMetricData", code: mp, in: gmd(func(in *getMetricDataInput) { in.MetricDataQueries[0].MetricStat.Metric = nil })},
		{name: "GMD missing MetricName", op: "GetMetricData", code: mp, in: gmd(func(in *getMetricDataInput) { in.MetricDataQueries[0].MetricStat.Metric.MetricName = nil })},
		{name: "GMD missing Stat", op: "GetMetricData", code: mp, in: gmd(func(in *getMetricDataInput) { in.MetricDataQueries[0].MetricStat.Stat = nil })},
		{name: "GMD unsupported Stat", op: "GetMetricData", code: ipv, in: gmd(func(in *getMetricDataInput) { in.MetricDataQueries[0].MetricStat.Stat = ptr("IQR") })},
		{name: "GMD missing Period", op: "GetMetricData", code: mp, in: gmd(func(in *getMetricDataInput) { in.MetricDataQueries[0].MetricStat.Period = nil })},
		{name: "GMD Period 7", op: "GetMetricData", code: ipv, in: gmd(func(in *getMetricDataInput) { in.MetricDataQueries[0].MetricStat.Period = ptr[int32](7) })},
		{name: "GMD bad ScanBy", op: "GetMetricData", code: ipv, in: gmd(func(in *getMetricDataInput) { in.ScanBy = ptr("Sideways") })},
		{name: "GMD MaxDatapoints 0", op: "GetMetricData", code: ipv, in: gmd(func(in *getMetricDataInput) { in.MaxDatapoints = ptr[int32](0) })},
		{name: "GMD bad timezone", op: "GetMetricData", code: ipv, in: gmd(func(in *getMetricDataInput) { in.LabelOptions = &labelOptions{Timezone: ptr("UTC")} })},
		{name: "GMD bad NextToken", op: "GetMetricData", code: inxt, in: gmd(func(in *getMetricDataInput) { in.NextToken = ptr("bm9wZQ") })},

		// ListMetrics
		{name: "LM valid", op: "ListMetrics", in: lm(func(in *listMetricsInput) { in.RecentlyActive = ptr("PT3H") })},
		{name: "LM empty Namespace", op: "ListMetrics", code: ipv, in: lm(func(in *listMetricsInput) { in.Namespace = ptr("") })},
		{name: "LM bad RecentlyActive", op: "ListMetrics", code: ipv, in: lm(func(in *listMetricsInput) { in.RecentlyActive = ptr("PT1H") })},
		{name: "LM 11 dimension filters", op: "ListMetrics", code: ipv, in: lm(func(in *listMetricsInput) { in.Dimensions = filters })},
		{name: "LM dimension filter without name", op: "ListMetrics", code: mp, in: lm(func(in *listMetricsInput) { in.Dimensions = []dimensionFilter{{Value: ptr("v")}} })},
		{name: "LM bad NextToken", op: "ListMetrics", code: inxt, in: lm(func(in *listMetricsInput) { in.NextToken = ptr("%%%") })},

		// PutMetricData (none valid here: the store must stay empty)
		{name: "PMD missing Namespace", op: "PutMetricData", code: mp, in: pmd(func(in *putMetricDataInput) { in.Namespace = nil })},
		{name: "PMD AWS namespace", op: "PutMetricData", code: ipv, in: pmd(func(in *putMetricDataInput) { in.Namespace = ptr("AWS/SageMaker") })},
		{name: "PMD no MetricData", op: "PutMetricData", code: mp, in: pmd(func(in *putMetricDataInput) { in.MetricData = nil })},
		{name: "PMD 1001 datums", op: "PutMetricData", code: ipv, in: pmd(func(in *putMetricDataInput) { in.MetricData = manyDatums })},
		{name: "PMD missing MetricName", op: "PutMetricData", code: mp, in: pmd(datum(func(d *metricDatum) { d.MetricName = nil }))},
		{name: "PMD timestamp over two weeks old", op: "PutMetricData", code: ipv, in: pmd(datum(func(d *metricDatum) { d.Timestamp = ts(now.Add(-15 * 24 * time.Hour)) }))},
		{name: "PMD timestamp over two hours ahead", op: "PutMetricData", code: ipv, in: pmd(datum(func(d *metricDatum) { d.Timestamp = ts(now.Add(3 * time.Hour)) }))},
		{name: "PMD Value and StatisticValues", op: "PutMetricData", code: ipc, in: pmd(datum(func(d *metricDatum) {
			d.StatisticValues = &statisticSet{SampleCount: ptr(1.0), Sum: ptr(1.0), Minimum: ptr(1.0), Maximum: ptr(1.0)}
		}))},
		{name: "PMD Value and Values", op: "PutMetricData", code: ipc, in: pmd(datum(func(d *metricDatum) { d.Values = []float64{1} }))},
		{name: "PMD no value at all", op: "PutMetricData", code: mp, in: pmd(datum(func(d *metricDatum) { d.Value = nil }))},
		{name: "PMD StatisticValues without Sum", op: "PutMetricData", code: mp, in: pmd(datum(func(d *metricDatum) {
			d.Value, d.StatisticValues = nil, &statisticSet{SampleCount: ptr(1.0), Minimum: ptr(1.0), Maximum: ptr(1.0)}
		}))},
		{name: "PMD StatisticValues minimum above maximum", op: "PutMetricData", code: ipv, in: pmd(datum(func(d *metricDatum) {
			d.Value, d.StatisticValues = nil, &statisticSet{SampleCount: ptr(2.0), Sum: ptr(3.0), Minimum: ptr(2.0), Maximum: ptr(1.0)}
		}))},
		{name: "PMD StatisticValues SampleCount 0", op: "PutMetricData", code: ipv, in: pmd(datum(func(d *metricDatum) {
			d.Value, d.StatisticValues = nil, &statisticSet{SampleCount: ptr(0.0), Sum: ptr(0.0), Minimum: ptr(0.0), Maximum: ptr(0.0)}
		}))},
		{name: "PMD 151 values", op: "PutMetricData", code: ipv, in: pmd(datum(func(d *metricDatum) { d.Value, d.Values = nil, make([]float64, 151) }))},
		{name: "PMD Counts of another length", op: "PutMetricData", code: ipv, in: pmd(datum(func(d *metricDatum) { d.Value, d.Values, d.Counts = nil, []float64{1, 2}, []float64{1} }))},
		{name: "PMD Counts without Values", op: "PutMetricData", code: ipc, in: pmd(datum(func(d *metricDatum) { d.Counts = []float64{1} }))},
		{name: "PMD negative count", op: "PutMetricData", code: ipv, in: pmd(datum(func(d *metricDatum) { d.Value, d.Values, d.Counts = nil, []float64{1}, []float64{-1} }))},
		{name: "PMD value too large", op: "PutMetricData", code: ipv, in: pmd(datum(func(d *metricDatum) { d.Value = ptr(1e200) }))},
		{name: "PMD value too small", op: "PutMetricData", code: ipv, in: pmd(datum(func(d *metricDatum) { d.Value = ptr(1e-200) }))},
		{name: "PMD NaN", op: "PutMetricData", code: ipv, skipJSON: true, in: pmd(datum(func(d *metricDatum) { d.Value = ptr(math.NaN()) }))},
		{name: "PMD StorageResolution 30", op: "PutMetricData", code: ipv, in: pmd(datum(func(d *metricDatum) { d.StorageResolution = ptr[int32](30) }))},
		{name: "PMD unknown unit", op: "PutMetricData", code: ipv, in: pmd(datum(func(d *metricDatum) { d.Unit = ptr("Parsecs") }))},
		{name: "PMD 31 dimensions", op: "PutMetricData", code: ipv, in: pmd(datum(func(d *metricDatum) { d.Dimensions = dims(31) }))},
		{name: "PMD one bad datum rejects the valid ones", op: "PutMetricData", code: ipv, in: pmd(func(in *putMetricDataInput) {
			in.MetricData = append(in.MetricData, metricDatum{MetricName: ptr("M2"), Value: ptr(1.0), Unit: ptr("Bogus")})
		})},
		{name: "PMD bad datum inside EntityMetricData", op: "PutMetricData", code: ipv, in: pmd(func(in *putMetricDataInput) {
			in.EntityMetricData = []entityMetricData{{
				Entity:     &entity{KeyAttributes: map[string]string{"Type": "Service", "Name": "x"}},
				MetricData: []metricDatum{{MetricName: ptr("E"), Value: ptr(math.Inf(1))}},
			}}
		}), skipJSON: true},
	}
}

func TestValidation(t *testing.T) {
	env := newTestEnv(t)
	for _, tt := range validationCases() {
		for _, proto := range []protocol{protoCBOR, protoJSON, protoQuery} {
			if proto == protoJSON && tt.skipJSON {
				continue
			}
			t.Run(tt.name+"/"+proto.String(), func(t *testing.T) {
				status, code := send(t, env, proto, tt.op, tt.in)
				wantStatus := 400
				if tt.code == "" {
					wantStatus = 200
				}
				if status != wantStatus || code != tt.code {
					t.Errorf("got %d %q, want %d %q", status, code, wantStatus, tt.code)
				}
			})
		}
	}
	// Rejected PutMetricData requests recorded nothing.
	ms, err := env.store.ListMetrics(context.Background(), metrics.MetricFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 0 {
		t.Errorf("rejected requests recorded metrics: %v", ms)
	}
}

// TestPutMetricDataRejectsAtomically checks that a valid batch records and
// the same batch with one bad datum records nothing.
func TestPutMetricDataRejectsAtomically(t *testing.T) {
	env := newTestEnv(t)
	good := &putMetricDataInput{Namespace: ptr("NS"), MetricData: []metricDatum{
		{MetricName: ptr("A"), Value: ptr(1.0)},
		{MetricName: ptr("B"), Values: []float64{1, 2}},
	}}
	if status, code := send(t, env, protoJSON, "PutMetricData", good); status != 200 {
		t.Fatalf("valid batch: %d %s", status, code)
	}
	bad := *good
	bad.Namespace = ptr("NS2")
	bad.MetricData = append(bad.MetricData[:2:2], metricDatum{MetricName: ptr("C")})
	if status, _ := send(t, env, protoJSON, "PutMetricData", &bad); status != 400 {
		t.Fatalf("bad batch accepted: %d", status)
	}
	ms, err := env.store.ListMetrics(context.Background(), metrics.MetricFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Namespace != "NS" || ms[1].Namespace != "NS" {
		t.Errorf("metrics after one good and one bad batch: %v, want NS A and NS B only", ms)
	}
}
