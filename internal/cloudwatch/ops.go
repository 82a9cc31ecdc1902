package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"hearth/internal/awsapi"
	"hearth/internal/awsjson"
	"hearth/internal/metrics"
)

// Limits from the CloudWatch API reference.
const (
	maxStatistics         = 5
	maxExtendedStatistics = 10
	maxGMSDatapoints      = 1440
	maxDimensions         = 30
	maxFilterDimensions   = 10
	maxQueries            = 500
	maxDatapointsDefault  = 100800
	maxDatums             = 1000
	maxValues             = 150
	listMetricsPageSize   = 500
	maxPastAge            = 14 * 24 * time.Hour
	maxFutureAge          = 2 * time.Hour
	// Magnitudes CloudWatch accepts for a value (other than zero).
	maxMagnitude = 1.174271e+108
	minMagnitude = 8.515920e-109
)

var metricIDPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

func length(s string) int { return utf8.RuneCountInString(s) }

func checkLength(s, param string, lo, hi int) error {
	if n := length(s); n < lo || n > hi {
		return invalidValue("The parameter %s must be between %d and %d characters long.", param, lo, hi)
	}
	return nil
}

func checkNamespace(ns *string, param string, forPut bool) error {
	if ns == nil {
		return missing(param)
	}
	if err := checkLength(*ns, param, 1, 255); err != nil {
		return err
	}
	if strings.HasPrefix(*ns, ":") {
		return invalidValue("The value %s for parameter %s is invalid: it must not start with ':'.", truncate(*ns), param)
	}
	if forPut && strings.HasPrefix(*ns, "AWS/") {
		return invalidValue("The value AWS/ for parameter %s is invalid: the AWS/ namespaces are reserved.", param)
	}
	return nil
}

func checkMetricName(name *string, param string) error {
	if name == nil {
		return missing(param)
	}
	return checkLength(*name, param, 1, 255)
}

func checkDimensions(dims []dimension, param string) ([]metrics.Dimension, error) {
	if len(dims) > maxDimensions {
		return nil, invalidValue("The collection %s must not have a size greater than %d.", param, maxDimensions)
	}
	out := make([]metrics.Dimension, len(dims))
	for i, d := range dims {
		p := fmt.Sprintf("%s.member.%d", param, i+1)
		if d.Name == nil {
			return nil, missing(p + ".Name")
		}
		if d.Value == nil {
			return nil, missing(p + ".Value")
		}
		if err := checkLength(*d.Name, p+".Name", 1, 255); err != nil {
			return nil, err
		}
		if err := checkLength(*d.Value, p+".Value", 1, 1024); err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out[:i], func(o metrics.Dimension) bool { return o.Name == *d.Name }) {
			return nil, invalidValue("The collection %s must not contain duplicate dimension names: %s.", param, truncate(*d.Name))
		}
		out[i] = metrics.Dimension{Name: *d.Name, Value: *d.Value}
	}
	return out, nil
}

func checkPeriod(p *int32, param string) (time.Duration, error) {
	if p == nil {
		return 0, missing(param)
	}
	v := *p
	switch {
	case v < 1:
		return 0, invalidValue("The parameter %s must be greater than 0.", param)
	case v < 60 && v != 1 && v != 5 && v != 10 && v != 20 && v != 30,
		v >= 60 && v%60 != 0:
		return 0, invalidValue("The parameter %s must be 1, 5, 10, 20, 30, 60 or a multiple of 60.", param)
	}
	return time.Duration(v) * time.Second, nil
}

// unitOrder lists the standard units in the order CloudWatch's messages
// list them.
var unitOrder = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
	"Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
	"Gigabits/Second", "Terabits/Second", "Count/Second", "None"}

func checkUnit(u *string, param string) (metrics.Unit, error) {
	if u == nil {
		return "", nil
	}
	if !metrics.Unit(*u).Valid() {
		return "", invalidValue("The parameter %s must be a value in the set [ %s ].", param, strings.Join(unitOrder, ", "))
	}
	return metrics.Unit(*u), nil
}

func checkTimeRange(start, end *Timestamp) error {
	switch {
	case start == nil:
		return missing("StartTime")
	case end == nil:
		return missing("EndTime")
	case !start.Before(end.Time):
		return invalidValue("The parameter StartTime must be less than the parameter EndTime.")
	}
	return nil
}

// parsePercentile reads an extended statistic pNN or pNN.NN (0–100).
func parsePercentile(s string) (float64, bool) {
	num, ok := strings.CutPrefix(s, "p")
	if !ok || num == "" {
		return 0, false
	}
	whole, frac, hasFrac := strings.Cut(num, ".")
	digits := func(x string) bool {
		return x != "" && strings.Trim(x, "0123456789") == ""
	}
	if !digits(whole) || hasFrac && !digits(frac) {
		return 0, false
	}
	p, err := strconv.ParseFloat(num, 64)
	if err != nil || p < 0 || p > 100 {
		return 0, false
	}
	return p, true
}

func checkDouble(v float64, param string) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		// AWS's words, with Java's names for the values.
		return invalidValue("The value %s for parameter %s is invalid.", strings.Trim(awsjson.FloatText(v), `"`), param)
	}
	if a := math.Abs(v); a > maxMagnitude || a != 0 && a < minMagnitude {
		return invalidValue("The value %v for parameter %s is out of range: magnitudes must be 0 or between %v and %v.", v, param, minMagnitude, maxMagnitude)
	}
	return nil
}

// datapointCount is how many periods [start, end) spans. (Sub saturates
// for spans beyond ~292 years, which still counts far above any limit.)
func datapointCount(start, end time.Time, period time.Duration) int64 {
	d := end.Sub(start)
	n := int64(d / period)
	if d%period != 0 {
		n++
	}
	return n
}

func (h *handler) runQuery(ctx context.Context, q metrics.Query) ([]metrics.Datapoint, bool, error) {
	dps, err := h.store.Query(ctx, q)
	switch {
	case errors.Is(err, metrics.ErrPeriodTooFine):
		return nil, true, nil
	case errors.Is(err, metrics.ErrInvalidQuery):
		return nil, false, invalidValue("%v", err)
	case err != nil:
		return nil, false, err
	}
	return dps, false, nil
}

func (h *handler) getMetricStatistics(ctx context.Context, in *getMetricStatisticsInput) (*getMetricStatisticsOutput, error) {
	if err := checkNamespace(in.Namespace, "Namespace", false); err != nil {
		return nil, err
	}
	if err := checkMetricName(in.MetricName, "MetricName"); err != nil {
		return nil, err
	}
	if err := checkTimeRange(in.StartTime, in.EndTime); err != nil {
		return nil, err
	}
	period, err := checkPeriod(in.Period, "Period")
	if err != nil {
		return nil, err
	}
	dims, err := checkDimensions(in.Dimensions, "Dimensions")
	if err != nil {
		return nil, err
	}
	switch {
	case len(in.Statistics) == 0 && len(in.ExtendedStatistics) == 0:
		return nil, newError(errMissingParameter, "Must specify either Statistics or ExtendedStatistics.")
	case len(in.Statistics) > 0 && len(in.ExtendedStatistics) > 0:
		return nil, combination("The parameters Statistics and ExtendedStatistics are mutually exclusive; specify one of them.")
	case len(in.Statistics) > maxStatistics:
		return nil, invalidValue("The collection Statistics must not have a size greater than %d.", maxStatistics)
	case len(in.ExtendedStatistics) > maxExtendedStatistics:
		return nil, invalidValue("The collection ExtendedStatistics must not have a size greater than %d.", maxExtendedStatistics)
	}
	for i, st := range in.Statistics {
		if !metrics.Statistic(st).Valid() {
			return nil, invalidValue("The value %s for parameter Statistics.member.%d is not a valid statistic: use SampleCount, Average, Sum, Minimum or Maximum.", truncate(st), i+1)
		}
	}
	percentiles := make([]float64, len(in.ExtendedStatistics))
	for i, st := range in.ExtendedStatistics {
		p, ok := parsePercentile(st)
		if !ok {
			return nil, invalidValue("The value %s for parameter ExtendedStatistics.member.%d is not a valid percentile: use p0.0 to p100.", truncate(st), i+1)
		}
		percentiles[i] = p
	}
	unit, err := checkUnit(in.Unit, "Unit")
	if err != nil {
		return nil, err
	}
	if n := datapointCount(in.StartTime.Time, in.EndTime.Time, period); n > maxGMSDatapoints {
		return nil, combination("You have requested up to %d datapoints, which exceeds the limit of %d. You may reduce the datapoints requested by increasing Period, or decreasing the time range.", n, maxGMSDatapoints)
	}
	dps, _, err := h.runQuery(ctx, metrics.Query{
		Metric:      metrics.MetricID{Namespace: *in.Namespace, Name: *in.MetricName, Dimensions: dims},
		Unit:        unit,
		Start:       in.StartTime.Time,
		End:         in.EndTime.Time,
		Period:      period,
		Percentiles: percentiles,
	})
	if err != nil {
		return nil, err
	}
	out := &getMetricStatisticsOutput{Label: *in.MetricName, Datapoints: make([]datapoint, 0, len(dps))}
	for _, dp := range dps {
		d := datapoint{Timestamp: &Timestamp{Time: dp.Timestamp}, Unit: string(dp.Unit)}
		for _, st := range in.Statistics {
			v := dp.Statistic(metrics.Statistic(st))
			switch metrics.Statistic(st) {
			case metrics.SampleCount:
				d.SampleCount = &v
			case metrics.Average:
				d.Average = &v
			case metrics.Sum:
				d.Sum = &v
			case metrics.Minimum:
				d.Minimum = &v
			case metrics.Maximum:
				d.Maximum = &v
			}
		}
		for i, st := range in.ExtendedStatistics {
			if v := dp.Percentiles[i]; !math.IsNaN(v) {
				if d.ExtendedStatistics == nil {
					d.ExtendedStatistics = make(map[string]float64)
				}
				d.ExtendedStatistics[st] = v
			}
		}
		out.Datapoints = append(out.Datapoints, d)
	}
	return out, nil
}

// pageToken is the decoded form of a NextToken.
type pageToken = awsapi.PageToken

func requestHash(parts ...any) string { return awsapi.RequestHash(parts...) }

func encodeToken(t pageToken) *string {
	s := t.Encode()
	return &s
}

func decodeToken(s, hash string) (pageToken, error) {
	t, ok := awsapi.DecodePageToken(s, hash)
	if !ok {
		return pageToken{}, newError(errInvalidNextToken, "The NextToken is not valid for this request.")
	}
	return t, nil
}

// defaultLabels tells apart the default labels of queries that differ
// only in their dimensions or statistic, as CloudWatch does: the metric
// name, then the dimension values when the queries' dimensions differ,
// then the statistic when their statistics differ.
func defaultLabels(qs []gmdQuery) {
	dimsDiffer, statsDiffer := false, false
	first := -1
	for i, g := range qs {
		if !g.defLabel {
			continue
		}
		if first < 0 {
			first = i
			continue
		}
		dimsDiffer = dimsDiffer || g.dimKey != qs[first].dimKey
		statsDiffer = statsDiffer || g.statKey != qs[first].statKey
	}
	for i := range qs {
		g := &qs[i]
		if !g.defLabel {
			continue
		}
		parts := []string{g.label}
		if dimsDiffer {
			parts = append(parts, g.dimVals...)
		}
		if statsDiffer {
			parts = append(parts, g.statKey)
		}
		g.label = strings.Join(parts, " ")
	}
}

type gmdQuery struct {
	id, label string
	// For a default label: the dimension values in request order, a key
	// for the dimension set, and the statistic.
	defLabel        bool
	dimVals         []string
	dimKey, statKey string
	q               metrics.Query
	stat            metrics.Statistic // when percentile is false
	pct             bool
}

var timezonePattern = regexp.MustCompile(`^[+-]([01][0-9]|2[0-3])[0-5][0-9]$`)

func (h *handler) getMetricData(ctx context.Context, in *getMetricDataInput) (*getMetricDataOutput, error) {
	if len(in.MetricDataQueries) == 0 {
		return nil, missing("MetricDataQueries")
	}
	if len(in.MetricDataQueries) > maxQueries {
		return nil, invalidValue("The collection MetricDataQueries must not have a size greater than %d.", maxQueries)
	}
	if err := checkTimeRange(in.StartTime, in.EndTime); err != nil {
		return nil, err
	}
	descending := true
	if in.ScanBy != nil {
		switch *in.ScanBy {
		case "TimestampDescending":
		case "TimestampAscending":
			descending = false
		default:
			return nil, invalidValue("The value %s for parameter ScanBy is invalid: use TimestampDescending or TimestampAscending.", truncate(*in.ScanBy))
		}
	}
	maxPoints := maxDatapointsDefault
	if in.MaxDatapoints != nil {
		if *in.MaxDatapoints < 1 || *in.MaxDatapoints > maxDatapointsDefault {
			return nil, invalidValue("The parameter MaxDatapoints must be between 1 and %d.", maxDatapointsDefault)
		}
		maxPoints = int(*in.MaxDatapoints)
	}
	if in.LabelOptions != nil && in.LabelOptions.Timezone != nil && !timezonePattern.MatchString(*in.LabelOptions.Timezone) {
		return nil, invalidValue("The value %s for parameter LabelOptions.Timezone is invalid: use +HHMM or -HHMM.", truncate(*in.LabelOptions.Timezone))
	}
	var queries []gmdQuery
	seen := make(map[string]bool)
	for i, mq := range in.MetricDataQueries {
		p := fmt.Sprintf("MetricDataQueries.member.%d", i+1)
		if mq.ID == nil {
			return nil, missing(p + ".Id")
		}
		if length(*mq.ID) > 255 || !metricIDPattern.MatchString(*mq.ID) {
			return nil, invalidValue("The value %s for parameter %s.Id is invalid: it must start with a lowercase letter and hold only letters, digits and underscores (at most 255).", truncate(*mq.ID), p)
		}
		if seen[*mq.ID] {
			return nil, invalidValue("The value %s for parameter %s.Id is a duplicate: every Id must be unique.", *mq.ID, p)
		}
		seen[*mq.ID] = true
		switch {
		case mq.Expression != nil && mq.MetricStat != nil:
			return nil, combination("The parameters %s.MetricStat and %s.Expression are mutually exclusive.", p, p)
		case mq.Expression != nil:
			return nil, invalidValue("Metric math is not supported: %s.Expression cannot be evaluated; use MetricStat.", p)
		case mq.MetricStat == nil:
			return nil, newError(errMissingParameter, "One of the parameters %s.MetricStat or %s.Expression is required.", p, p)
		}
		ms := mq.MetricStat
		if ms.Metric == nil {
			return nil, missing(p + ".MetricStat.Metric")
		}
		if err := checkNamespace(ms.Metric.Namespace, p+".MetricStat.Metric.Namespace", false); err != nil {
			return nil, err
		}
		if err := checkMetricName(ms.Metric.MetricName, p+".MetricStat.Metric.MetricName"); err != nil {
			return nil, err
		}
		dims, err := checkDimensions(ms.Metric.Dimensions, p+".MetricStat.Metric.Dimensions")
		if err != nil {
			return nil, err
		}
		period, err := checkPeriod(ms.Period, p+".MetricStat.Period")
		if err != nil {
			return nil, err
		}
		if ms.Stat == nil {
			return nil, missing(p + ".MetricStat.Stat")
		}
		g := gmdQuery{id: *mq.ID, label: *ms.Metric.MetricName}
		if pct, ok := parsePercentile(*ms.Stat); ok {
			g.pct = true
			g.q.Percentiles = []float64{pct}
		} else if st := metrics.Statistic(*ms.Stat); st.Valid() {
			g.stat = st
		} else {
			return nil, invalidValue("The value %s for parameter %s.MetricStat.Stat is not supported: use SampleCount, Average, Sum, Minimum, Maximum or a percentile pNN.", truncate(*ms.Stat), p)
		}
		unit, err := checkUnit(ms.Unit, p+".MetricStat.Unit")
		if err != nil {
			return nil, err
		}
		if mq.Label != nil && *mq.Label != "" {
			g.label = *mq.Label
		} else {
			g.defLabel, g.statKey = true, *ms.Stat
			for _, d := range ms.Metric.Dimensions {
				g.dimVals = append(g.dimVals, *d.Value)
			}
			keys := make([]string, len(dims))
			for i, d := range dims {
				keys[i] = d.Name + "=" + d.Value
			}
			slices.Sort(keys)
			g.dimKey = strings.Join(keys, "\x00")
		}
		g.q.Metric = metrics.MetricID{Namespace: *ms.Metric.Namespace, Name: *ms.Metric.MetricName, Dimensions: dims}
		g.q.Unit = unit
		g.q.Start, g.q.End, g.q.Period = in.StartTime.Time, in.EndTime.Time, period
		if mq.ReturnData == nil || *mq.ReturnData {
			queries = append(queries, g)
		}
	}
	defaultLabels(queries)
	hash := requestHash(in.MetricDataQueries, in.StartTime, in.EndTime, descending)
	var tok pageToken
	if in.NextToken != nil {
		var err error
		if tok, err = decodeToken(*in.NextToken, hash); err != nil {
			return nil, err
		}
		if tok.Query > len(queries) {
			return nil, newError(errInvalidNextToken, "The NextToken is not valid for this request.")
		}
	}

	out := &getMetricDataOutput{MetricDataResults: []metricDataResult{}}
	budget := maxPoints
	for qi := tok.Query; qi < len(queries); qi++ {
		g := queries[qi]
		dps, tooFine, err := h.runQuery(ctx, g.q)
		if err != nil {
			return nil, err
		}
		if descending {
			slices.Reverse(dps)
		}
		res := metricDataResult{ID: g.id, Label: g.label, Timestamps: []Timestamp{}, Values: []float64{}, StatusCode: "Complete"}
		if tooFine {
			res.Messages = []messageData{{Code: "Warning", Value: "The period is finer than the resolution stored for data that old; no datapoints are returned."}}
		}
		offset := 0
		if qi == tok.Query {
			offset = tok.Offset
		}
		var i int
		for i = offset; i < len(dps); i++ {
			dp := dps[i]
			v := dp.Statistic(g.stat)
			if g.pct {
				v = dp.Percentiles[0]
			}
			if math.IsNaN(v) {
				continue
			}
			if budget == 0 {
				break
			}
			res.Timestamps = append(res.Timestamps, Timestamp{Time: dp.Timestamp})
			res.Values = append(res.Values, v)
			budget--
		}
		if i < len(dps) {
			res.StatusCode = "PartialData"
			out.MetricDataResults = append(out.MetricDataResults, res)
			out.NextToken = encodeToken(pageToken{Query: qi, Offset: i, Hash: hash})
			return out, nil
		}
		out.MetricDataResults = append(out.MetricDataResults, res)
		if budget == 0 && qi+1 < len(queries) {
			out.NextToken = encodeToken(pageToken{Query: qi + 1, Hash: hash})
			return out, nil
		}
	}
	return out, nil
}

func (h *handler) listMetrics(ctx context.Context, in *listMetricsInput) (*listMetricsOutput, error) {
	f := metrics.MetricFilter{}
	if in.Namespace != nil {
		if err := checkNamespace(in.Namespace, "Namespace", false); err != nil {
			return nil, err
		}
		f.Namespace = *in.Namespace
	}
	if in.MetricName != nil {
		if err := checkMetricName(in.MetricName, "MetricName"); err != nil {
			return nil, err
		}
		f.MetricName = *in.MetricName
	}
	if len(in.Dimensions) > maxFilterDimensions {
		return nil, invalidValue("The collection Dimensions must not have a size greater than %d.", maxFilterDimensions)
	}
	for i, d := range in.Dimensions {
		p := fmt.Sprintf("Dimensions.member.%d", i+1)
		if d.Name == nil {
			return nil, missing(p + ".Name")
		}
		if err := checkLength(*d.Name, p+".Name", 1, 255); err != nil {
			return nil, err
		}
		df := metrics.DimensionFilter{Name: *d.Name}
		if d.Value != nil {
			if err := checkLength(*d.Value, p+".Value", 1, 1024); err != nil {
				return nil, err
			}
			df.Value = *d.Value
		}
		f.Dimensions = append(f.Dimensions, df)
	}
	if in.RecentlyActive != nil {
		if *in.RecentlyActive != "PT3H" {
			return nil, invalidValue("The value %s for parameter RecentlyActive is invalid: the only valid value is PT3H.", truncate(*in.RecentlyActive))
		}
		f.ActiveSince = h.clock.Now().Add(-3 * time.Hour)
	}
	if in.OwningAccount != nil {
		if err := checkLength(*in.OwningAccount, "OwningAccount", 1, 255); err != nil {
			return nil, err
		}
	}
	hash := requestHash(in.Namespace, in.MetricName, in.Dimensions, in.RecentlyActive, in.OwningAccount)
	var tok pageToken
	if in.NextToken != nil {
		var err error
		if tok, err = decodeToken(*in.NextToken, hash); err != nil {
			return nil, err
		}
	}
	out := &listMetricsOutput{Metrics: []metric{}}
	if in.OwningAccount != nil && *in.OwningAccount != h.account {
		return out, nil
	}
	ms, err := h.store.ListMetrics(ctx, f)
	if err != nil {
		return nil, err
	}
	if tok.Offset > len(ms) {
		return nil, newError(errInvalidNextToken, "The NextToken is not valid for this request.")
	}
	page := ms[tok.Offset:]
	if len(page) > listMetricsPageSize {
		page = page[:listMetricsPageSize]
		out.NextToken = encodeToken(pageToken{Offset: tok.Offset + listMetricsPageSize, Hash: hash})
	}
	for _, m := range page {
		wm := metric{Namespace: &m.Namespace, MetricName: &m.Name, Dimensions: []dimension{}}
		for _, d := range m.Dimensions {
			wm.Dimensions = append(wm.Dimensions, dimension{Name: &d.Name, Value: &d.Value})
		}
		out.Metrics = append(out.Metrics, wm)
		if in.IncludeLinkedAccounts != nil && *in.IncludeLinkedAccounts {
			out.OwningAccounts = append(out.OwningAccounts, h.account)
		}
	}
	return out, nil
}

// datum is one validated PutMetricData entry, ready to record.
type datum struct {
	name   string
	dims   []metrics.Dimension
	unit   metrics.Unit
	at     time.Time
	value  *float64
	stats  *metrics.StatisticSet
	values []float64
	counts []float64
}

func checkDatum(d metricDatum, p string, now time.Time) (datum, error) {
	var out datum
	if err := checkMetricName(d.MetricName, p+".MetricName"); err != nil {
		return out, err
	}
	out.name = *d.MetricName
	dims, err := checkDimensions(d.Dimensions, p+".Dimensions")
	if err != nil {
		return out, err
	}
	out.dims = dims
	out.at = now
	if d.Timestamp != nil {
		out.at = d.Timestamp.Time
		if out.at.Before(now.Add(-maxPastAge)) {
			return out, invalidValue("The parameter %s.Timestamp must specify a time no more than two weeks in the past.", p)
		}
		if out.at.After(now.Add(maxFutureAge)) {
			return out, invalidValue("The parameter %s.Timestamp must specify a time no more than two hours in the future.", p)
		}
	}
	var given []string
	for _, f := range []struct {
		set  bool
		name string
	}{{d.Value != nil, "Value"}, {d.StatisticValues != nil, "StatisticValues"}, {len(d.Values) > 0, "Values"}} {
		if f.set {
			given = append(given, p+"."+f.name)
		}
	}
	switch {
	case len(given) > 1:
		// AWS's words name the first two fields given.
		return out, combination("The parameters %s and %s are mutually exclusive and you have specified both.", given[0], given[1])
	case len(given) == 0:
		return out, newError(errMissingParameter, "One of the parameters %s.Value, %s.StatisticValues or %s.Values is required.", p, p, p)
	case len(d.Counts) > 0 && len(d.Values) == 0:
		return out, combination("The parameter %s.Counts requires %s.Values.", p, p)
	}
	switch {
	case d.Value != nil:
		if err := checkDouble(*d.Value, p+".Value"); err != nil {
			return out, err
		}
		out.value = d.Value
	case d.StatisticValues != nil:
		sv := d.StatisticValues
		sp := p + ".StatisticValues"
		fields := []struct {
			v    *float64
			name string
		}{{sv.SampleCount, "SampleCount"}, {sv.Sum, "Sum"}, {sv.Minimum, "Minimum"}, {sv.Maximum, "Maximum"}}
		for _, f := range fields {
			if f.v == nil {
				return out, missing(sp + "." + f.name)
			}
			if err := checkDouble(*f.v, sp+"."+f.name); err != nil {
				return out, err
			}
		}
		if *sv.SampleCount <= 0 {
			return out, invalidValue("The parameter %s.SampleCount must be greater than 0.", sp)
		}
		if *sv.Minimum > *sv.Maximum {
			return out, invalidValue("The parameter %s.Minimum must not be greater than %s.Maximum.", sp, sp)
		}
		out.stats = &metrics.StatisticSet{SampleCount: *sv.SampleCount, Sum: *sv.Sum, Minimum: *sv.Minimum, Maximum: *sv.Maximum}
	default:
		if len(d.Values) > maxValues {
			return out, invalidValue("The collection %s.Values must not have a size greater than %d.", p, maxValues)
		}
		if len(d.Counts) > 0 && len(d.Counts) != len(d.Values) {
			return out, invalidValue("The parameters %s.Values and %s.Counts must be of the same size.", p, p)
		}
		for i, v := range d.Values {
			if err := checkDouble(v, fmt.Sprintf("%s.Values.member.%d", p, i+1)); err != nil {
				return out, err
			}
		}
		for i, c := range d.Counts {
			cp := fmt.Sprintf("%s.Counts.member.%d", p, i+1)
			if err := checkDouble(c, cp); err != nil {
				return out, err
			}
			if c < 0 {
				return out, invalidValue("The parameter %s must not be negative.", cp)
			}
		}
		out.values = d.Values
		if len(d.Counts) > 0 {
			out.counts = d.Counts
		}
	}
	unit, err := checkUnit(d.Unit, p+".Unit")
	if err != nil {
		return out, err
	}
	out.unit = unit
	if d.StorageResolution != nil && *d.StorageResolution != 1 && *d.StorageResolution != 60 {
		return out, invalidValue("The parameter %s.StorageResolution must be 1 or 60.", p)
	}
	return out, nil
}

func (h *handler) putMetricData(ctx context.Context, in *putMetricDataInput) (*putMetricDataOutput, error) {
	if err := checkNamespace(in.Namespace, "Namespace", true); err != nil {
		return nil, err
	}
	type entry struct {
		d    metricDatum
		path string
	}
	var all []entry
	for i, d := range in.MetricData {
		all = append(all, entry{d, fmt.Sprintf("MetricData.member.%d", i+1)})
	}
	for i, e := range in.EntityMetricData {
		for j, d := range e.MetricData {
			all = append(all, entry{d, fmt.Sprintf("EntityMetricData.member.%d.MetricData.member.%d", i+1, j+1)})
		}
	}
	if len(all) == 0 {
		return nil, missing("MetricData")
	}
	if len(all) > maxDatums {
		return nil, invalidValue("The collection MetricData must not have a size greater than %d.", maxDatums)
	}
	now := h.clock.Now()
	data := make([]datum, len(all))
	for i, e := range all {
		d, err := checkDatum(e.d, e.path, now)
		if err != nil {
			return nil, err
		}
		data[i] = d
	}
	// Everything is valid: record.
	for _, d := range data {
		ser := h.store.Series(*in.Namespace, d.name, d.dims, d.unit)
		switch {
		case d.value != nil:
			ser.Add(d.at, *d.value)
		case d.stats != nil:
			ser.AddStatistics(d.at, *d.stats)
		default:
			ser.AddValues(d.at, d.values, d.counts)
		}
	}
	return &putMetricDataOutput{}, nil
}
