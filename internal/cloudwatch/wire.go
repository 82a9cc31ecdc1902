package cloudwatch

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Request and response shapes of the four operations, shared by the three
// protocols. Field names are the model's member names: JSON and CBOR use
// the tags (CBOR falls back to the json tag), awsQuery decoding and XML
// encoding walk the same fields by reflection. Optional inputs are
// pointers so that "absent" can be told from "zero".

// Timestamp is an instant on the wire: epoch seconds in JSON, CBOR tag 1 in
// rpcv2Cbor, ISO 8601 in awsQuery.
type Timestamp struct{ time.Time }

// MarshalJSON writes epoch seconds, with a fraction only when needed.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(epochText(t.Time)), nil
}

func epochText(t time.Time) string {
	if t.Nanosecond() == 0 {
		return strconv.FormatInt(t.Unix(), 10)
	}
	return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64)
}

// UnmarshalJSON accepts epoch seconds (a number or a numeric string) or an
// ISO 8601 string.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		tm, err := parseTimestamp(s)
		if err != nil {
			return err
		}
		t.Time = tm
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	tm, err := epochTime(f)
	if err != nil {
		return err
	}
	t.Time = tm
	return nil
}

// MarshalCBOR writes tag 1 around integer seconds, or float64 seconds when
// there is a fraction.
func (t Timestamp) MarshalCBOR() ([]byte, error) {
	b := []byte{0xc1} // tag 1
	if t.Nanosecond() == 0 {
		sec := t.Unix()
		if sec >= 0 {
			return appendCBORHead(b, 0, uint64(sec)), nil
		}
		return appendCBORHead(b, 1, uint64(-1-sec)), nil
	}
	b = append(b, 0xfb)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(float64(t.UnixNano())/1e9)), nil
}

func appendCBORHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

// UnmarshalCBOR accepts tag 1 (or an untagged number) holding epoch
// seconds as an integer or float, or a tag 0 / untagged RFC 3339 string.
func (t *Timestamp) UnmarshalCBOR(b []byte) error {
	var v any
	if err := cbor.Unmarshal(b, &v); err != nil {
		return err
	}
	if tag, ok := v.(cbor.Tag); ok {
		if tag.Number != 0 && tag.Number != 1 {
			return fmt.Errorf("timestamp: unexpected CBOR tag %d", tag.Number)
		}
		v = tag.Content
	}
	var f float64
	switch x := v.(type) {
	case time.Time: // the decoder's own reading of tags 0 and 1
		t.Time = x.UTC()
		return nil
	case uint64:
		f = float64(x)
	case int64:
		f = float64(x)
	case float64:
		f = x
	case string:
		tm, err := parseTimestamp(x)
		if err != nil {
			return err
		}
		t.Time = tm
		return nil
	default:
		return fmt.Errorf("timestamp: unexpected CBOR value %T", v)
	}
	tm, err := epochTime(f)
	if err != nil {
		return err
	}
	t.Time = tm
	return nil
}

// maxEpoch keeps timestamps within years 0–9999.
const maxEpoch = 253402300799

func epochTime(f float64) (time.Time, error) {
	if math.IsNaN(f) || f < -62135596800 || f > maxEpoch {
		return time.Time{}, fmt.Errorf("timestamp %v out of range", f)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
}

// parseTimestamp reads ISO 8601 (with or without zone and fraction; no
// zone means UTC) or epoch seconds.
func parseTimestamp(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
		return epochTime(f)
	}
	return time.Time{}, fmt.Errorf("timestamp %q is not ISO 8601 or epoch seconds", s)
}

type dimension struct {
	Name  *string `json:"Name,omitempty"`
	Value *string `json:"Value,omitempty"`
}

type getMetricStatisticsInput struct {
	Namespace          *string     `json:"Namespace"`
	MetricName         *string     `json:"MetricName"`
	Dimensions         []dimension `json:"Dimensions"`
	StartTime          *Timestamp  `json:"StartTime"`
	EndTime            *Timestamp  `json:"EndTime"`
	Period             *int32      `json:"Period"`
	Statistics         []string    `json:"Statistics"`
	ExtendedStatistics []string    `json:"ExtendedStatistics"`
	Unit               *string     `json:"Unit"`
}

type datapoint struct {
	Timestamp          *Timestamp         `json:"Timestamp,omitempty"`
	SampleCount        *float64           `json:"SampleCount,omitempty"`
	Average            *float64           `json:"Average,omitempty"`
	Sum                *float64           `json:"Sum,omitempty"`
	Minimum            *float64           `json:"Minimum,omitempty"`
	Maximum            *float64           `json:"Maximum,omitempty"`
	Unit               string             `json:"Unit,omitempty"`
	ExtendedStatistics map[string]float64 `json:"ExtendedStatistics,omitempty"`
}

type getMetricStatisticsOutput struct {
	Label      string      `json:"Label"`
	Datapoints []datapoint `json:"Datapoints"`
}

// metric is also ListMetrics' output, whose Dimensions every protocol
// writes, empty when the metric has none (as CloudWatch does).
type metric struct {
	Namespace  *string     `json:"Namespace,omitempty"`
	MetricName *string     `json:"MetricName,omitempty"`
	Dimensions []dimension `json:"Dimensions"`
}

type metricStat struct {
	Metric *metric `json:"Metric"`
	Period *int32  `json:"Period"`
	Stat   *string `json:"Stat"`
	Unit   *string `json:"Unit"`
}

type metricDataQuery struct {
	ID         *string     `json:"Id"`
	MetricStat *metricStat `json:"MetricStat"`
	Expression *string     `json:"Expression"`
	Label      *string     `json:"Label"`
	ReturnData *bool       `json:"ReturnData"`
	Period     *int32      `json:"Period"`
	AccountID  *string     `json:"AccountId"`
}

type labelOptions struct {
	Timezone *string `json:"Timezone"`
}

type getMetricDataInput struct {
	MetricDataQueries []metricDataQuery `json:"MetricDataQueries"`
	StartTime         *Timestamp        `json:"StartTime"`
	EndTime           *Timestamp        `json:"EndTime"`
	NextToken         *string           `json:"NextToken"`
	ScanBy            *string           `json:"ScanBy"`
	MaxDatapoints     *int32            `json:"MaxDatapoints"`
	LabelOptions      *labelOptions     `json:"LabelOptions"`
}

type messageData struct {
	Code  string `json:"Code"`
	Value string `json:"Value"`
}

type metricDataResult struct {
	ID         string        `json:"Id"`
	Label      string        `json:"Label"`
	Timestamps []Timestamp   `json:"Timestamps"`
	Values     []float64     `json:"Values"`
	StatusCode string        `json:"StatusCode"`
	Messages   []messageData `json:"Messages,omitempty"`
}

type getMetricDataOutput struct {
	MetricDataResults []metricDataResult `json:"MetricDataResults"`
	NextToken         *string            `json:"NextToken,omitempty"`
	Messages          []messageData      `json:"Messages,omitempty"`
}

type dimensionFilter struct {
	Name  *string `json:"Name"`
	Value *string `json:"Value"`
}

type listMetricsInput struct {
	Namespace             *string           `json:"Namespace"`
	MetricName            *string           `json:"MetricName"`
	Dimensions            []dimensionFilter `json:"Dimensions"`
	NextToken             *string           `json:"NextToken"`
	RecentlyActive        *string           `json:"RecentlyActive"`
	IncludeLinkedAccounts *bool             `json:"IncludeLinkedAccounts"`
	OwningAccount         *string           `json:"OwningAccount"`
}

type listMetricsOutput struct {
	Metrics        []metric `json:"Metrics"`
	NextToken      *string  `json:"NextToken,omitempty"`
	OwningAccounts []string `json:"OwningAccounts,omitempty"`
}

type statisticSet struct {
	SampleCount *float64 `json:"SampleCount"`
	Sum         *float64 `json:"Sum"`
	Minimum     *float64 `json:"Minimum"`
	Maximum     *float64 `json:"Maximum"`
}

type metricDatum struct {
	MetricName        *string       `json:"MetricName"`
	Dimensions        []dimension   `json:"Dimensions"`
	Timestamp         *Timestamp    `json:"Timestamp"`
	Value             *float64      `json:"Value"`
	StatisticValues   *statisticSet `json:"StatisticValues"`
	Values            []float64     `json:"Values"`
	Counts            []float64     `json:"Counts"`
	Unit              *string       `json:"Unit"`
	StorageResolution *int32        `json:"StorageResolution"`
}

type entity struct {
	KeyAttributes map[string]string `json:"KeyAttributes"`
	Attributes    map[string]string `json:"Attributes"`
}

type entityMetricData struct {
	Entity     *entity       `json:"Entity"`
	MetricData []metricDatum `json:"MetricData"`
}

type putMetricDataInput struct {
	Namespace              *string            `json:"Namespace"`
	MetricData             []metricDatum      `json:"MetricData"`
	EntityMetricData       []entityMetricData `json:"EntityMetricData"`
	StrictEntityValidation *bool              `json:"StrictEntityValidation"`
}

type putMetricDataOutput struct{}
