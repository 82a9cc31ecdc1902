package cloudwatch

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"hearth/internal/cloudwatch/alarm"
	"hearth/internal/metrics"
	"hearth/internal/store"
)

// Store kinds of the alarm records.
const (
	kindAlarm   store.Kind = "metric-alarm"
	kindHistory store.Kind = "alarm-history"
)

// Limits and defaults of the alarm operations.
const (
	maxAlarmNames      = 100
	maxAlarmRecords    = 100
	defaultAlarmPage   = 50
	maxAlarmActions    = 5
	historyRetention   = 30 * 24 * time.Hour
	maxEvaluationRange = 24 * time.Hour // EvaluationPeriods × Period, as on AWS
)

var (
	errResourceNotFound = errorKind{"ResourceNotFound", "ResourceNotFound", http.StatusNotFound, true}
	errInvalidFormat    = errorKind{"InvalidFormatFault", "InvalidFormat", http.StatusBadRequest, true}
)

// ErrUnsupportedAction is what an ActionRunner returns for an action ARN it
// does not perform (the alarm history says so).
var ErrUnsupportedAction = errors.New("action not supported by this server")

// AlarmEvent is what an alarm action is told.
type AlarmEvent struct {
	AlarmName, AlarmARN string
	State               alarm.State
	// Changed reports the alarm has just entered State (actions of
	// Application Auto Scaling are also run every period the state lasts).
	Changed   bool
	Threshold float64
	// Comparison is the alarm's ComparisonOperator.
	Comparison string
	// Values are the evaluation range's datapoints, newest first (NaN
	// where missing).
	Values []float64
	At     time.Time
}

// ActionRunner performs alarm actions.
type ActionRunner interface {
	RunAlarmAction(ctx context.Context, arn string, ev AlarmEvent) error
}

// AlarmOptions configure Alarms.
type AlarmOptions struct {
	Region, Account string
	// BasePeriod is the metric store's period; an alarm's Period must be a
	// multiple of it.
	BasePeriod time.Duration
	Clock      metrics.Clock
	Actions    ActionRunner
	Logger     *slog.Logger
}

// Alarms keeps CloudWatch metric alarms in the embedded store and
// evaluates them on the metric store's data.
type Alarms struct {
	st      *store.Store
	metrics *metrics.Store
	opts    AlarmOptions
	log     *slog.Logger
	mu      sync.Mutex // serialises mutations and evaluations
	pruned  time.Time  // when history was last pruned
}

// NewAlarms returns the alarm service.
func NewAlarms(st *store.Store, m *metrics.Store, opts AlarmOptions) *Alarms {
	if opts.BasePeriod <= 0 {
		opts.BasePeriod = time.Minute
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Account == "" {
		opts.Account = DefaultAccount
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Alarms{st: st, metrics: m, opts: opts, log: opts.Logger}
}

// SetActions sets the runner of alarm actions (it may be built after the
// alarms).
func (a *Alarms) SetActions(r ActionRunner) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.opts.Actions = r
}

func alarmKey(name string) string { return hex.EncodeToString([]byte(name)) }

// ---- shapes ----

type tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

type putMetricAlarmInput struct {
	AlarmName                        *string           `json:"AlarmName"`
	AlarmDescription                 *string           `json:"AlarmDescription"`
	ActionsEnabled                   *bool             `json:"ActionsEnabled"`
	OKActions                        []string          `json:"OKActions"`
	AlarmActions                     []string          `json:"AlarmActions"`
	InsufficientDataActions          []string          `json:"InsufficientDataActions"`
	MetricName                       *string           `json:"MetricName"`
	Namespace                        *string           `json:"Namespace"`
	Statistic                        *string           `json:"Statistic"`
	ExtendedStatistic                *string           `json:"ExtendedStatistic"`
	Dimensions                       []dimension       `json:"Dimensions"`
	Period                           *int32            `json:"Period"`
	Unit                             *string           `json:"Unit"`
	EvaluationPeriods                *int32            `json:"EvaluationPeriods"`
	DatapointsToAlarm                *int32            `json:"DatapointsToAlarm"`
	Threshold                        *float64          `json:"Threshold"`
	ComparisonOperator               *string           `json:"ComparisonOperator"`
	TreatMissingData                 *string           `json:"TreatMissingData"`
	EvaluateLowSampleCountPercentile *string           `json:"EvaluateLowSampleCountPercentile"`
	Metrics                          []metricDataQuery `json:"Metrics"`
	Tags                             []tag             `json:"Tags"`
	ThresholdMetricId                *string           `json:"ThresholdMetricId"`
}

// metricAlarm is CloudWatch's MetricAlarm shape.
type metricAlarm struct {
	AlarmName                          string      `json:"AlarmName"`
	AlarmArn                           string      `json:"AlarmArn"`
	AlarmDescription                   *string     `json:"AlarmDescription,omitempty"`
	AlarmConfigurationUpdatedTimestamp *Timestamp  `json:"AlarmConfigurationUpdatedTimestamp,omitempty"`
	ActionsEnabled                     bool        `json:"ActionsEnabled"`
	OKActions                          []string    `json:"OKActions"`
	AlarmActions                       []string    `json:"AlarmActions"`
	InsufficientDataActions            []string    `json:"InsufficientDataActions"`
	StateValue                         string      `json:"StateValue"`
	StateReason                        string      `json:"StateReason"`
	StateReasonData                    string      `json:"StateReasonData,omitempty"`
	StateUpdatedTimestamp              *Timestamp  `json:"StateUpdatedTimestamp,omitempty"`
	MetricName                         string      `json:"MetricName"`
	Namespace                          string      `json:"Namespace"`
	Statistic                          string      `json:"Statistic,omitempty"`
	ExtendedStatistic                  string      `json:"ExtendedStatistic,omitempty"`
	Dimensions                         []dimension `json:"Dimensions"`
	Period                             int32       `json:"Period"`
	Unit                               string      `json:"Unit,omitempty"`
	EvaluationPeriods                  int32       `json:"EvaluationPeriods"`
	DatapointsToAlarm                  int32       `json:"DatapointsToAlarm,omitempty"`
	Threshold                          float64     `json:"Threshold"`
	ComparisonOperator                 string      `json:"ComparisonOperator"`
	TreatMissingData                   string      `json:"TreatMissingData,omitempty"`
	EvaluateLowSampleCountPercentile   string      `json:"EvaluateLowSampleCountPercentile,omitempty"`
	StateTransitionedTimestamp         *Timestamp  `json:"StateTransitionedTimestamp,omitempty"`
}

// alarmRecord is a stored alarm: the API shape plus evaluation state.
type alarmRecord struct {
	metricAlarm
	Tags map[string]string `json:"Tags,omitempty"`
	// Evaluated is the end of the newest period evaluated.
	Evaluated Timestamp `json:"Evaluated"`
}

type putMetricAlarmOutput struct{}

type describeAlarmsInput struct {
	AlarmNames          []string `json:"AlarmNames"`
	AlarmNamePrefix     *string  `json:"AlarmNamePrefix"`
	AlarmTypes          []string `json:"AlarmTypes"`
	ChildrenOfAlarmName *string  `json:"ChildrenOfAlarmName"`
	ParentsOfAlarmName  *string  `json:"ParentsOfAlarmName"`
	StateValue          *string  `json:"StateValue"`
	ActionPrefix        *string  `json:"ActionPrefix"`
	MaxRecords          *int32   `json:"MaxRecords"`
	NextToken           *string  `json:"NextToken"`
}

type describeAlarmsOutput struct {
	CompositeAlarms []struct{}    `json:"CompositeAlarms"`
	MetricAlarms    []metricAlarm `json:"MetricAlarms"`
	NextToken       *string       `json:"NextToken,omitempty"`
}

type describeAlarmsForMetricInput struct {
	MetricName        *string     `json:"MetricName"`
	Namespace         *string     `json:"Namespace"`
	Statistic         *string     `json:"Statistic"`
	ExtendedStatistic *string     `json:"ExtendedStatistic"`
	Dimensions        []dimension `json:"Dimensions"`
	Period            *int32      `json:"Period"`
	Unit              *string     `json:"Unit"`
}

type describeAlarmsForMetricOutput struct {
	MetricAlarms []metricAlarm `json:"MetricAlarms"`
}

type alarmNamesInput struct {
	AlarmNames []string `json:"AlarmNames"`
}

type emptyOutput struct{}

type setAlarmStateInput struct {
	AlarmName       *string `json:"AlarmName"`
	StateValue      *string `json:"StateValue"`
	StateReason     *string `json:"StateReason"`
	StateReasonData *string `json:"StateReasonData"`
}

type describeAlarmHistoryInput struct {
	AlarmName       *string    `json:"AlarmName"`
	AlarmTypes      []string   `json:"AlarmTypes"`
	HistoryItemType *string    `json:"HistoryItemType"`
	StartDate       *Timestamp `json:"StartDate"`
	EndDate         *Timestamp `json:"EndDate"`
	MaxRecords      *int32     `json:"MaxRecords"`
	NextToken       *string    `json:"NextToken"`
	ScanBy          *string    `json:"ScanBy"`
}

type alarmHistoryItem struct {
	AlarmName       string    `json:"AlarmName"`
	AlarmType       string    `json:"AlarmType"`
	Timestamp       Timestamp `json:"Timestamp"`
	HistoryItemType string    `json:"HistoryItemType"`
	HistorySummary  string    `json:"HistorySummary"`
	HistoryData     string    `json:"HistoryData"`
}

// historyRecord is a stored history item with its key.
type historyRecord struct {
	alarmHistoryItem
	ID string `json:"ID"`
}

type describeAlarmHistoryOutput struct {
	AlarmHistoryItems []alarmHistoryItem `json:"AlarmHistoryItems"`
	NextToken         *string            `json:"NextToken,omitempty"`
}

// ---- validation ----

var (
	stateValues      = []string{string(alarm.OK), string(alarm.Alarm), string(alarm.InsufficientData)}
	missingTreatment = []string{alarm.Breaching, alarm.NotBreaching, alarm.Ignore, alarm.Missing}
	historyTypes     = []string{"ConfigurationUpdate", "StateUpdate", "Action", "AlarmContributorStateUpdate", "AlarmContributorAction"}
)

func enumErr(v, param string, set []string) error {
	return invalidValue("The value %s for parameter %s is not valid. Valid values: %s.", truncate(v), param, strings.Join(set, ", "))
}

func checkAlarmName(name *string, param string) error {
	if name == nil {
		return missing(param)
	}
	return checkLength(*name, param, 1, 255)
}

func checkActions(list []string, param string) error {
	if len(list) > maxAlarmActions {
		return invalidValue("The collection %s must not have a size greater than %d.", param, maxAlarmActions)
	}
	for i, a := range list {
		p := fmt.Sprintf("%s.member.%d", param, i+1)
		if err := checkLength(a, p, 1, 1024); err != nil {
			return err
		}
		if !strings.HasPrefix(a, "arn:") {
			return invalidValue("Invalid arn syntax: %s", truncate(a))
		}
	}
	return nil
}

// ---- operations ----

func (a *Alarms) now() time.Time { return a.opts.Clock.Now().UTC().Truncate(time.Millisecond) }

func (a *Alarms) putMetricAlarm(ctx context.Context, in *putMetricAlarmInput) (*putMetricAlarmOutput, error) {
	if err := checkAlarmName(in.AlarmName, "AlarmName"); err != nil {
		return nil, err
	}
	if in.AlarmDescription != nil {
		if err := checkLength(*in.AlarmDescription, "AlarmDescription", 0, 1024); err != nil {
			return nil, err
		}
	}
	if len(in.Metrics) > 0 {
		return nil, invalidValue("Metric math alarms (Metrics) are not supported by this server: give MetricName, Namespace, Statistic or ExtendedStatistic, and Period.")
	}
	if err := checkNamespace(in.Namespace, "Namespace", false); err != nil {
		return nil, err
	}
	if err := checkMetricName(in.MetricName, "MetricName"); err != nil {
		return nil, err
	}
	if _, err := checkDimensions(in.Dimensions, "Dimensions"); err != nil {
		return nil, err
	}
	switch {
	case in.Statistic == nil && in.ExtendedStatistic == nil:
		return nil, newError(errMissingParameter, "Must specify either Statistic or ExtendedStatistic.")
	case in.Statistic != nil && in.ExtendedStatistic != nil:
		return nil, combination("The parameters Statistic and ExtendedStatistic are mutually exclusive; specify one of them.")
	case in.Statistic != nil && !metrics.Statistic(*in.Statistic).Valid():
		return nil, enumErr(*in.Statistic, "Statistic", []string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"})
	}
	if in.ExtendedStatistic != nil {
		if _, ok := parsePercentile(*in.ExtendedStatistic); !ok {
			return nil, invalidValue("The value %s for parameter ExtendedStatistic is not a valid percentile: use p0.0 to p100.", truncate(*in.ExtendedStatistic))
		}
	}
	if in.Period == nil {
		return nil, missing("Period")
	}
	period := time.Duration(*in.Period) * time.Second
	if *in.Period < 1 || period%a.opts.BasePeriod != 0 {
		return nil, invalidValue("The parameter Period must be a multiple of %d seconds, the period this server keeps metrics at.", int(a.opts.BasePeriod/time.Second))
	}
	if in.EvaluationPeriods == nil {
		return nil, missing("EvaluationPeriods")
	}
	if *in.EvaluationPeriods < 1 {
		return nil, invalidValue("The parameter EvaluationPeriods must be greater than or equal to 1.")
	}
	if time.Duration(*in.EvaluationPeriods)*period > maxEvaluationRange {
		return nil, invalidValue("The evaluation period cannot exceed 1 day: EvaluationPeriods × Period is %d seconds.", int64(*in.EvaluationPeriods)*int64(*in.Period))
	}
	if in.DatapointsToAlarm != nil && (*in.DatapointsToAlarm < 1 || *in.DatapointsToAlarm > *in.EvaluationPeriods) {
		return nil, invalidValue("DatapointsToAlarm must be between 1 and EvaluationPeriods (%d).", *in.EvaluationPeriods)
	}
	if in.ComparisonOperator == nil {
		return nil, missing("ComparisonOperator")
	}
	if !slices.Contains(alarm.Operators, *in.ComparisonOperator) {
		if strings.Contains(*in.ComparisonOperator, "Band") {
			return nil, invalidValue("Anomaly detection comparison operators are not supported by this server: use %s.", strings.Join(alarm.Operators, ", "))
		}
		return nil, enumErr(*in.ComparisonOperator, "ComparisonOperator", append(slices.Clone(alarm.Operators), "LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold"))
	}
	if in.Threshold == nil {
		return nil, missing("Threshold")
	}
	if err := checkDouble(*in.Threshold, "Threshold"); err != nil {
		return nil, err
	}
	if in.TreatMissingData != nil && !slices.Contains(missingTreatment, *in.TreatMissingData) {
		return nil, enumErr(*in.TreatMissingData, "TreatMissingData", missingTreatment)
	}
	if in.EvaluateLowSampleCountPercentile != nil && *in.EvaluateLowSampleCountPercentile != "evaluate" && *in.EvaluateLowSampleCountPercentile != "ignore" {
		return nil, enumErr(*in.EvaluateLowSampleCountPercentile, "EvaluateLowSampleCountPercentile", []string{"evaluate", "ignore"})
	}
	unit, err := checkUnit(in.Unit, "Unit")
	if err != nil {
		return nil, err
	}
	for _, l := range []struct {
		list  []string
		param string
	}{{in.OKActions, "OKActions"}, {in.AlarmActions, "AlarmActions"}, {in.InsufficientDataActions, "InsufficientDataActions"}} {
		if err := checkActions(l.list, l.param); err != nil {
			return nil, err
		}
	}
	tags, err := checkTagList(in.Tags)
	if err != nil {
		return nil, err
	}
	now := a.now()
	rec := alarmRecord{metricAlarm: metricAlarm{
		AlarmName: *in.AlarmName, AlarmArn: fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", a.opts.Region, a.opts.Account, *in.AlarmName),
		AlarmDescription: in.AlarmDescription, AlarmConfigurationUpdatedTimestamp: &Timestamp{Time: now},
		ActionsEnabled: in.ActionsEnabled == nil || *in.ActionsEnabled,
		OKActions:      nonNil(in.OKActions), AlarmActions: nonNil(in.AlarmActions), InsufficientDataActions: nonNil(in.InsufficientDataActions),
		StateValue: string(alarm.InsufficientData), StateReason: "Unchecked: Initial alarm creation",
		StateUpdatedTimestamp: &Timestamp{Time: now}, StateTransitionedTimestamp: &Timestamp{Time: now},
		MetricName: *in.MetricName, Namespace: *in.Namespace, Dimensions: nonNil(in.Dimensions), Period: *in.Period,
		Unit: string(unit), EvaluationPeriods: *in.EvaluationPeriods, Threshold: *in.Threshold, ComparisonOperator: *in.ComparisonOperator,
	}, Tags: tags}
	if in.Statistic != nil {
		rec.Statistic = *in.Statistic
	}
	if in.ExtendedStatistic != nil {
		rec.ExtendedStatistic = *in.ExtendedStatistic
	}
	if in.DatapointsToAlarm != nil {
		rec.DatapointsToAlarm = *in.DatapointsToAlarm
	}
	if in.TreatMissingData != nil {
		rec.TreatMissingData = *in.TreatMissingData
	}
	if in.EvaluateLowSampleCountPercentile != nil {
		rec.EvaluateLowSampleCountPercentile = *in.EvaluateLowSampleCountPercentile
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return &putMetricAlarmOutput{}, a.st.Update(ctx, func(tx *store.Tx) error {
		var old alarmRecord
		err := tx.Get(kindAlarm, alarmKey(rec.AlarmName), &old)
		summary := fmt.Sprintf("Alarm %q created", rec.AlarmName)
		switch {
		case err == nil:
			// An update keeps the state, as on AWS, and is evaluated afresh.
			summary = fmt.Sprintf("Alarm %q updated", rec.AlarmName)
			rec.StateValue, rec.StateReason, rec.StateReasonData = old.StateValue, old.StateReason, old.StateReasonData
			rec.StateUpdatedTimestamp, rec.StateTransitionedTimestamp = old.StateUpdatedTimestamp, old.StateTransitionedTimestamp
			if in.Tags == nil {
				rec.Tags = old.Tags
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := tx.Put(kindAlarm, alarmKey(rec.AlarmName), now, rec); err != nil {
			return err
		}
		return addHistory(tx, rec.AlarmName, now, "ConfigurationUpdate", summary, historyJSON(map[string]any{"type": "Update", "version": "1.0"}))
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func addHistory(tx *store.Tx, name string, at time.Time, kind, summary, data string) error {
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	return tx.Put(kindHistory, id.String(), at, historyRecord{ID: id.String(), alarmHistoryItem: alarmHistoryItem{AlarmName: name, AlarmType: "MetricAlarm", Timestamp: Timestamp{Time: at},
		HistoryItemType: kind, HistorySummary: summary, HistoryData: data}})
}

func historyJSON(v any) string {
	b, _ := json.Marshal(v) // maps of strings and numbers always marshal
	return string(b)
}

func (a *Alarms) list(ctx context.Context) ([]alarmRecord, error) {
	var all []alarmRecord
	err := a.st.View(ctx, func(tx *store.Tx) (err error) {
		all, err = store.ListInto[alarmRecord](tx, kindAlarm)
		return err
	})
	slices.SortFunc(all, func(x, y alarmRecord) int { return strings.Compare(x.AlarmName, y.AlarmName) })
	return all, err
}

func (a *Alarms) describeAlarms(ctx context.Context, in *describeAlarmsInput) (*describeAlarmsOutput, error) {
	if len(in.AlarmNames) > maxAlarmNames {
		return nil, invalidValue("The collection AlarmNames must not have a size greater than %d.", maxAlarmNames)
	}
	if in.AlarmNames != nil && in.AlarmNamePrefix != nil {
		return nil, combination("AlarmNames and AlarmNamePrefix are mutually exclusive.")
	}
	if in.StateValue != nil && !slices.Contains(stateValues, *in.StateValue) {
		return nil, enumErr(*in.StateValue, "StateValue", stateValues)
	}
	page := defaultAlarmPage
	if in.MaxRecords != nil {
		if *in.MaxRecords < 1 || *in.MaxRecords > maxAlarmRecords {
			return nil, invalidValue("The parameter MaxRecords must be between 1 and %d.", maxAlarmRecords)
		}
		page = int(*in.MaxRecords)
	}
	metricWanted := len(in.AlarmTypes) == 0 || slices.Contains(in.AlarmTypes, "MetricAlarm")
	all, err := a.list(ctx)
	if err != nil {
		return nil, err
	}
	out := &describeAlarmsOutput{CompositeAlarms: []struct{}{}, MetricAlarms: []metricAlarm{}}
	var kept []metricAlarm
	for _, r := range all {
		switch {
		case !metricWanted,
			in.AlarmNames != nil && !slices.Contains(in.AlarmNames, r.AlarmName),
			in.AlarmNamePrefix != nil && !strings.HasPrefix(r.AlarmName, *in.AlarmNamePrefix),
			in.StateValue != nil && r.StateValue != *in.StateValue,
			in.ActionPrefix != nil && !slices.ContainsFunc(slices.Concat(r.OKActions, r.AlarmActions, r.InsufficientDataActions),
				func(s string) bool { return strings.HasPrefix(s, *in.ActionPrefix) }):
			continue
		}
		kept = append(kept, r.metricAlarm)
	}
	hash := requestHash("DescribeAlarms", in.AlarmNames, in.AlarmNamePrefix, in.StateValue, in.ActionPrefix, in.AlarmTypes)
	start := 0
	if in.NextToken != nil {
		t, err := decodeToken(*in.NextToken, hash)
		if err != nil {
			return nil, err
		}
		start = min(t.Offset, len(kept))
	}
	end := min(start+page, len(kept))
	out.MetricAlarms = append(out.MetricAlarms, kept[start:end]...)
	if end < len(kept) {
		out.NextToken = encodeToken(pageToken{Offset: end, Hash: hash})
	}
	return out, nil
}

func (a *Alarms) describeAlarmsForMetric(ctx context.Context, in *describeAlarmsForMetricInput) (*describeAlarmsForMetricOutput, error) {
	if err := checkNamespace(in.Namespace, "Namespace", false); err != nil {
		return nil, err
	}
	if err := checkMetricName(in.MetricName, "MetricName"); err != nil {
		return nil, err
	}
	want, err := checkDimensions(in.Dimensions, "Dimensions")
	if err != nil {
		return nil, err
	}
	all, err := a.list(ctx)
	if err != nil {
		return nil, err
	}
	out := &describeAlarmsForMetricOutput{MetricAlarms: []metricAlarm{}}
	for _, r := range all {
		have, _ := checkDimensions(r.Dimensions, "Dimensions")
		switch {
		case r.Namespace != *in.Namespace || r.MetricName != *in.MetricName,
			!sameDimensions(have, want),
			in.Statistic != nil && r.Statistic != *in.Statistic,
			in.ExtendedStatistic != nil && r.ExtendedStatistic != *in.ExtendedStatistic,
			in.Period != nil && r.Period != *in.Period,
			in.Unit != nil && r.Unit != *in.Unit:
			continue
		}
		out.MetricAlarms = append(out.MetricAlarms, r.metricAlarm)
	}
	return out, nil
}

func sameDimensions(a, b []metrics.Dimension) bool {
	if len(a) != len(b) {
		return false
	}
	for _, d := range a {
		if !slices.Contains(b, d) {
			return false
		}
	}
	return true
}

func checkNames(names []string) error {
	if names == nil {
		return missing("AlarmNames")
	}
	if len(names) > maxAlarmNames {
		return invalidValue("The collection AlarmNames must not have a size greater than %d.", maxAlarmNames)
	}
	for i, n := range names {
		if err := checkLength(n, fmt.Sprintf("AlarmNames.member.%d", i+1), 1, 255); err != nil {
			return err
		}
	}
	return nil
}

// deleteAlarms deletes every named alarm, or none when one does not exist.
func (a *Alarms) deleteAlarms(ctx context.Context, in *alarmNamesInput) (*emptyOutput, error) {
	if err := checkNames(in.AlarmNames); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return &emptyOutput{}, a.st.Update(ctx, func(tx *store.Tx) error {
		for _, n := range in.AlarmNames {
			ok, err := tx.Exists(kindAlarm, alarmKey(n))
			if err != nil {
				return err
			}
			if !ok {
				return newError(errResourceNotFound, "1 alarm could not be found: %s. No alarms were deleted.", truncate(n))
			}
		}
		for _, n := range in.AlarmNames {
			if _, err := tx.Delete(kindAlarm, alarmKey(n)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (a *Alarms) setActionsEnabled(ctx context.Context, in *alarmNamesInput, enabled bool) (*emptyOutput, error) {
	if err := checkNames(in.AlarmNames); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	return &emptyOutput{}, a.st.Update(ctx, func(tx *store.Tx) error {
		for _, n := range in.AlarmNames {
			var r alarmRecord
			err := tx.Get(kindAlarm, alarmKey(n), &r)
			if errors.Is(err, store.ErrNotFound) {
				continue // AWS ignores names it does not know here
			}
			if err != nil {
				return err
			}
			if r.ActionsEnabled == enabled {
				continue
			}
			r.ActionsEnabled = enabled
			if err := tx.Put(kindAlarm, alarmKey(n), now, r); err != nil {
				return err
			}
			verb := "disabled"
			if enabled {
				verb = "enabled"
			}
			if err := addHistory(tx, n, now, "ConfigurationUpdate", fmt.Sprintf("Alarm actions %s", verb), historyJSON(map[string]any{"type": "Update", "version": "1.0"})); err != nil {
				return err
			}
		}
		return nil
	})
}

func (a *Alarms) enableAlarmActions(ctx context.Context, in *alarmNamesInput) (*emptyOutput, error) {
	return a.setActionsEnabled(ctx, in, true)
}

func (a *Alarms) disableAlarmActions(ctx context.Context, in *alarmNamesInput) (*emptyOutput, error) {
	return a.setActionsEnabled(ctx, in, false)
}

// setAlarmState sets the state until the next evaluation, running the
// actions of a new state as a real transition would.
func (a *Alarms) setAlarmState(ctx context.Context, in *setAlarmStateInput) (*emptyOutput, error) {
	if err := checkAlarmName(in.AlarmName, "AlarmName"); err != nil {
		return nil, err
	}
	if in.StateValue == nil {
		return nil, missing("StateValue")
	}
	if !slices.Contains(stateValues, *in.StateValue) {
		return nil, enumErr(*in.StateValue, "StateValue", stateValues)
	}
	if in.StateReason == nil {
		return nil, missing("StateReason")
	}
	if err := checkLength(*in.StateReason, "StateReason", 0, 1023); err != nil {
		return nil, err
	}
	if in.StateReasonData != nil {
		if err := checkLength(*in.StateReasonData, "StateReasonData", 0, 4000); err != nil {
			return nil, err
		}
		var v any
		if json.Unmarshal([]byte(*in.StateReasonData), &v) != nil {
			return nil, newError(errInvalidFormat, "StateReasonData is not valid JSON.")
		}
	}
	a.mu.Lock()
	now := a.now()
	var r alarmRecord
	var changed bool
	err := a.st.Update(ctx, func(tx *store.Tx) error {
		err := tx.Get(kindAlarm, alarmKey(*in.AlarmName), &r)
		if errors.Is(err, store.ErrNotFound) {
			return newError(errResourceNotFound, "Alarm %s not found", truncate(*in.AlarmName))
		}
		if err != nil {
			return err
		}
		data := ""
		if in.StateReasonData != nil {
			data = *in.StateReasonData
		}
		changed = r.StateValue != *in.StateValue
		return a.transition(tx, &r, alarm.State(*in.StateValue), *in.StateReason, data, now)
	})
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if changed {
		a.runActions(ctx, r, AlarmEvent{State: alarm.State(r.StateValue), Changed: true}, now)
	}
	return &emptyOutput{}, nil
}

// transition stores r in state s, with a StateUpdate history item when the
// state changes.
func (a *Alarms) transition(tx *store.Tx, r *alarmRecord, s alarm.State, reason, data string, now time.Time) error {
	old := r.StateValue
	r.StateReason, r.StateReasonData = reason, data
	r.StateUpdatedTimestamp = &Timestamp{Time: now}
	if old != string(s) {
		r.StateValue = string(s)
		r.StateTransitionedTimestamp = &Timestamp{Time: now}
		hd := historyJSON(map[string]any{"version": "1.0", "oldState": map[string]any{"stateValue": old}, "newState": map[string]any{"stateValue": string(s), "stateReason": reason}})
		if err := addHistory(tx, r.AlarmName, now, "StateUpdate", fmt.Sprintf("Alarm updated from %s to %s", old, s), hd); err != nil {
			return err
		}
	}
	return tx.Put(kindAlarm, alarmKey(r.AlarmName), now, r)
}

func (a *Alarms) describeAlarmHistory(ctx context.Context, in *describeAlarmHistoryInput) (*describeAlarmHistoryOutput, error) {
	if in.HistoryItemType != nil && !slices.Contains(historyTypes, *in.HistoryItemType) {
		return nil, enumErr(*in.HistoryItemType, "HistoryItemType", historyTypes)
	}
	if in.ScanBy != nil && *in.ScanBy != "TimestampDescending" && *in.ScanBy != "TimestampAscending" {
		return nil, enumErr(*in.ScanBy, "ScanBy", []string{"TimestampDescending", "TimestampAscending"})
	}
	page := 100
	if in.MaxRecords != nil {
		if *in.MaxRecords < 1 || *in.MaxRecords > 100 {
			return nil, invalidValue("The parameter MaxRecords must be between 1 and 100.")
		}
		page = int(*in.MaxRecords)
	}
	var recs []historyRecord
	if err := a.st.View(ctx, func(tx *store.Tx) (err error) {
		recs, err = store.ListInto[historyRecord](tx, kindHistory)
		return err
	}); err != nil {
		return nil, err
	}
	all := make([]alarmHistoryItem, len(recs))
	for i, r := range recs {
		all[i] = r.alarmHistoryItem
	}
	// Stored oldest first (time-ordered ids).
	if in.ScanBy == nil || *in.ScanBy == "TimestampDescending" {
		slices.Reverse(all)
	}
	cutoff := a.now().Add(-historyRetention)
	var kept []alarmHistoryItem
	for _, h := range all {
		switch {
		case h.Timestamp.Before(cutoff),
			in.AlarmName != nil && h.AlarmName != *in.AlarmName,
			in.HistoryItemType != nil && h.HistoryItemType != *in.HistoryItemType,
			len(in.AlarmTypes) > 0 && !slices.Contains(in.AlarmTypes, h.AlarmType),
			in.StartDate != nil && h.Timestamp.Before(in.StartDate.Time),
			in.EndDate != nil && !h.Timestamp.Before(in.EndDate.Time):
			continue
		}
		kept = append(kept, h)
	}
	hash := requestHash("DescribeAlarmHistory", in.AlarmName, in.HistoryItemType, in.AlarmTypes, in.StartDate, in.EndDate, in.ScanBy)
	start := 0
	if in.NextToken != nil {
		t, err := decodeToken(*in.NextToken, hash)
		if err != nil {
			return nil, err
		}
		start = min(t.Offset, len(kept))
	}
	end := min(start+page, len(kept))
	out := &describeAlarmHistoryOutput{AlarmHistoryItems: append([]alarmHistoryItem{}, kept[start:end]...)}
	if end < len(kept) {
		out.NextToken = encodeToken(pageToken{Offset: end, Hash: hash})
	}
	return out, nil
}

// ---- evaluation ----

// Evaluate evaluates every alarm whose newest period has ended since its
// last evaluation, and runs the actions of the states they are in. The
// serving loop calls it once a second, after the metric store has closed
// the periods that ended.
func (a *Alarms) Evaluate(ctx context.Context, now time.Time) error {
	a.mu.Lock()
	if now.Sub(a.pruned) >= time.Hour {
		if err := a.pruneHistory(ctx, now); err != nil {
			a.log.Warn("prune alarm history", "err", err)
		}
		a.pruned = now
	}
	all, err := a.list(ctx)
	if err != nil {
		a.mu.Unlock()
		return fmt.Errorf("alarms: %w", err)
	}
	type due struct {
		r  alarmRecord
		ev AlarmEvent
	}
	var run []due
	var errs []error
	for _, r := range all {
		period := time.Duration(r.Period) * time.Second
		end := now.Truncate(period)
		if !end.After(r.Evaluated.Time) {
			continue
		}
		res, err := a.evaluate(ctx, r, period, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("alarm %s: %w", r.AlarmName, err))
			continue
		}
		r.Evaluated = Timestamp{Time: end}
		err = a.st.Update(ctx, func(tx *store.Tx) error {
			if res.Changed {
				return a.transition(tx, &r, res.State, res.Reason, res.ReasonData, now)
			}
			return tx.Put(kindAlarm, alarmKey(r.AlarmName), now, r)
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		run = append(run, due{r, AlarmEvent{State: res.State, Changed: res.Changed, Values: res.Evaluated}})
	}
	a.mu.Unlock()
	for _, d := range run {
		a.runActions(ctx, d.r, d.ev, now)
	}
	return errors.Join(errs...)
}

// pruneHistory deletes history items older than CloudWatch keeps them.
func (a *Alarms) pruneHistory(ctx context.Context, now time.Time) error {
	cutoff := now.Add(-historyRetention)
	return a.st.Update(ctx, func(tx *store.Tx) error {
		recs, err := store.ListInto[historyRecord](tx, kindHistory)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.Timestamp.Before(cutoff) && r.ID != "" {
				if _, err := tx.Delete(kindHistory, r.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// evaluate reads the alarm's evaluation range from the metric store and
// decides its state.
func (a *Alarms) evaluate(ctx context.Context, r alarmRecord, period time.Duration, now time.Time) (alarm.Result, error) {
	dims, _ := checkDimensions(r.Dimensions, "Dimensions")
	end := now.Truncate(period)
	q := metrics.Query{
		Metric: metrics.MetricID{Namespace: r.Namespace, Name: r.MetricName, Dimensions: dims},
		Unit:   metrics.Unit(r.Unit),
		Start:  end.Add(-time.Duration(r.EvaluationPeriods) * period),
		End:    end,
		Period: period,
	}
	stat := r.Statistic
	if r.ExtendedStatistic != "" {
		p, _ := parsePercentile(r.ExtendedStatistic)
		q.Percentiles = []float64{p}
		stat = r.ExtendedStatistic
	}
	dps, err := a.metrics.Query(ctx, q)
	if err != nil && !errors.Is(err, metrics.ErrPeriodTooFine) {
		return alarm.Result{}, err
	}
	points := make([]alarm.Datapoint, 0, len(dps))
	for _, dp := range dps {
		v := math.NaN()
		if r.ExtendedStatistic != "" {
			v = dp.Percentiles[0]
		} else {
			v = dp.Statistic(metrics.Statistic(r.Statistic))
		}
		points = append(points, alarm.Datapoint{Timestamp: dp.Timestamp, Value: v})
	}
	return alarm.Evaluate(alarm.Config{
		Period: period, EvaluationPeriods: int(r.EvaluationPeriods), DatapointsToAlarm: int(r.DatapointsToAlarm),
		Threshold: r.Threshold, Comparison: r.ComparisonOperator, TreatMissingData: r.TreatMissingData, Statistic: stat,
	}, points, alarm.State(r.StateValue), now), nil
}

// autoScalingAction reports whether arn is an Auto Scaling policy, whose
// action CloudWatch runs every period the alarm stays in the state.
func autoScalingAction(arn string) bool { return strings.HasPrefix(arn, "arn:aws:autoscaling:") }

// runActions runs the actions of the alarm's state: all of them when the
// state has just been entered, the Auto Scaling ones also every period it
// lasts. Transitions' actions are recorded in the alarm history.
func (a *Alarms) runActions(ctx context.Context, r alarmRecord, ev AlarmEvent, now time.Time) {
	if !r.ActionsEnabled {
		return
	}
	var list []string
	switch ev.State {
	case alarm.Alarm:
		list = r.AlarmActions
	case alarm.OK:
		list = r.OKActions
	case alarm.InsufficientData:
		list = r.InsufficientDataActions
	}
	a.mu.Lock()
	runner := a.opts.Actions
	a.mu.Unlock()
	ev.AlarmName, ev.AlarmARN, ev.Threshold, ev.Comparison, ev.At = r.AlarmName, r.AlarmArn, r.Threshold, r.ComparisonOperator, now
	for _, arn := range list {
		if !ev.Changed && !autoScalingAction(arn) {
			continue
		}
		err := ErrUnsupportedAction
		if runner != nil {
			err = runner.RunAlarmAction(ctx, arn, ev)
		}
		if !ev.Changed && err == nil {
			continue // repeated Auto Scaling invocations are not history
		}
		summary := "Successfully executed action " + arn
		data := map[string]any{"actionState": "Succeeded", "stateUpdateTimestamp": now.UnixMilli(), "notificationResource": arn}
		if err != nil {
			summary = "Failed to execute action " + arn
			data["actionState"] = "Failed"
			data["error"] = err.Error()
			if errors.Is(err, ErrUnsupportedAction) {
				data["error"] = "This server performs only Application Auto Scaling policy actions; this action was stored but not performed."
			}
			a.log.Warn("alarm action", "alarm", r.AlarmName, "action", arn, "err", err)
		}
		a.mu.Lock()
		herr := a.st.Update(ctx, func(tx *store.Tx) error {
			return addHistory(tx, r.AlarmName, now, "Action", summary, historyJSON(data))
		})
		a.mu.Unlock()
		if herr != nil {
			a.log.Error("alarm history", "alarm", r.AlarmName, "err", herr)
		}
	}
}

// ---- alarms other services keep ----

// AlarmSpec describes an alarm another service creates for itself (as
// Application Auto Scaling does for target tracking policies).
type AlarmSpec struct {
	Name, Description     string
	Namespace, MetricName string
	Dimensions            map[string]string
	Statistic             string
	Period                time.Duration
	EvaluationPeriods     int
	DatapointsToAlarm     int
	Threshold             float64
	Comparison            string
	AlarmActions          []string
	OKActions             []string
}

// PutAlarm creates or replaces an alarm, validated as PutMetricAlarm
// validates it.
func (a *Alarms) PutAlarm(ctx context.Context, s AlarmSpec) error {
	in := &putMetricAlarmInput{
		AlarmName: &s.Name, Namespace: &s.Namespace, MetricName: &s.MetricName, Statistic: &s.Statistic,
		Period: ptrTo(int32(s.Period / time.Second)), EvaluationPeriods: ptrTo(int32(s.EvaluationPeriods)),
		Threshold: &s.Threshold, ComparisonOperator: &s.Comparison, AlarmActions: s.AlarmActions, OKActions: s.OKActions,
	}
	if s.Description != "" {
		in.AlarmDescription = &s.Description
	}
	if s.DatapointsToAlarm > 0 {
		in.DatapointsToAlarm = ptrTo(int32(s.DatapointsToAlarm))
	}
	keys := make([]string, 0, len(s.Dimensions))
	for k := range s.Dimensions {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		in.Dimensions = append(in.Dimensions, dimension{Name: ptrTo(k), Value: ptrTo(s.Dimensions[k])})
	}
	_, err := a.putMetricAlarm(ctx, in)
	return err
}

func ptrTo[T any](v T) *T { return &v }

// DeleteAlarmsNamed deletes the alarms that exist among names.
func (a *Alarms) DeleteAlarmsNamed(ctx context.Context, names []string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st.Update(ctx, func(tx *store.Tx) error {
		for _, n := range names {
			if _, err := tx.Delete(kindAlarm, alarmKey(n)); err != nil {
				return err
			}
		}
		return nil
	})
}

// State returns an alarm's state; ok is false when there is no such alarm.
func (a *Alarms) State(ctx context.Context, name string) (s alarm.State, ok bool, err error) {
	var r alarmRecord
	err = a.st.View(ctx, func(tx *store.Tx) error { return tx.Get(kindAlarm, alarmKey(name), &r) })
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return alarm.State(r.StateValue), true, nil
}

// ---- tags ----

var errResourceNotFoundException = errorKind{"ResourceNotFoundException", "ResourceNotFoundException", http.StatusNotFound, true}

type tagResourceInput struct {
	ResourceARN *string `json:"ResourceARN"`
	Tags        []tag   `json:"Tags"`
}

type untagResourceInput struct {
	ResourceARN *string  `json:"ResourceARN"`
	TagKeys     []string `json:"TagKeys"`
}

type listTagsInput struct {
	ResourceARN *string `json:"ResourceARN"`
}

type listTagsOutput struct {
	Tags []tag `json:"Tags"`
}

const maxAlarmTags = 50

// alarmByARN runs fn on the alarm named by arn, storing it afterwards when
// write is set.
func (a *Alarms) alarmByARN(ctx context.Context, arn *string, write bool, fn func(r *alarmRecord) error) error {
	if arn == nil {
		return missing("ResourceARN")
	}
	if err := checkLength(*arn, "ResourceARN", 1, 1024); err != nil {
		return err
	}
	prefix := fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:", a.opts.Region, a.opts.Account)
	name, ok := strings.CutPrefix(*arn, prefix)
	notFound := newError(errResourceNotFoundException, "Alarm %s does not exist.", truncate(*arn))
	if !ok || name == "" {
		return notFound
	}
	do := a.st.View
	if write {
		a.mu.Lock()
		defer a.mu.Unlock()
		do = a.st.Update
	}
	return do(ctx, func(tx *store.Tx) error {
		var r alarmRecord
		err := tx.Get(kindAlarm, alarmKey(name), &r)
		if errors.Is(err, store.ErrNotFound) {
			return notFound
		}
		if err != nil {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
		if !write {
			return nil
		}
		return tx.Put(kindAlarm, alarmKey(name), a.now(), r)
	})
}

func checkTagList(tags []tag) (map[string]string, error) {
	out := map[string]string{}
	for i, t := range tags {
		p := fmt.Sprintf("Tags.member.%d", i+1)
		if t.Key == nil {
			return nil, missing(p + ".Key")
		}
		if t.Value == nil {
			return nil, missing(p + ".Value")
		}
		if err := checkLength(*t.Key, p+".Key", 1, 128); err != nil {
			return nil, err
		}
		if err := checkLength(*t.Value, p+".Value", 0, 256); err != nil {
			return nil, err
		}
		out[*t.Key] = *t.Value
	}
	return out, nil
}

func (a *Alarms) tagResource(ctx context.Context, in *tagResourceInput) (*emptyOutput, error) {
	if in.Tags == nil {
		return nil, missing("Tags")
	}
	tags, err := checkTagList(in.Tags)
	if err != nil {
		return nil, err
	}
	return &emptyOutput{}, a.alarmByARN(ctx, in.ResourceARN, true, func(r *alarmRecord) error {
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		for k, v := range tags {
			r.Tags[k] = v
		}
		if len(r.Tags) > maxAlarmTags {
			return invalidValue("The alarm would have more than %d tags.", maxAlarmTags)
		}
		return nil
	})
}

func (a *Alarms) untagResource(ctx context.Context, in *untagResourceInput) (*emptyOutput, error) {
	if in.TagKeys == nil {
		return nil, missing("TagKeys")
	}
	return &emptyOutput{}, a.alarmByARN(ctx, in.ResourceARN, true, func(r *alarmRecord) error {
		for _, k := range in.TagKeys {
			delete(r.Tags, k)
		}
		return nil
	})
}

func (a *Alarms) listTagsForResource(ctx context.Context, in *listTagsInput) (*listTagsOutput, error) {
	out := &listTagsOutput{Tags: []tag{}}
	err := a.alarmByARN(ctx, in.ResourceARN, false, func(r *alarmRecord) error {
		keys := make([]string, 0, len(r.Tags))
		for k := range r.Tags {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out.Tags = append(out.Tags, tag{Key: ptrTo(k), Value: ptrTo(r.Tags[k])})
		}
		return nil
	})
	return out, err
}
