package cloudwatch

import (
	"time"

	"hearth/internal/awsapi"
)

// Request and response shapes of the four operations, shared by the three
// protocols. Field names are the model's member names: JSON and CBOR use
// the tags (CBOR falls back to the json tag), awsQuery decoding and XML
// encoding walk the same fields by reflection. Optional inputs are
// pointers so that "absent" can be told from "zero".

// Timestamp is an instant on the wire: epoch seconds in JSON, CBOR tag 1 in
// rpcv2Cbor, ISO 8601 in awsQuery.
type Timestamp = awsapi.Timestamp

func parseTimestamp(s string) (time.Time, error) { return awsapi.ParseTimestamp(s) }

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
