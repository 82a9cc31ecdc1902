// Package alarm decides a CloudWatch metric alarm's state the way
// CloudWatch does, as a pure function of the alarm's configuration, its
// metric's datapoints and the current instant.
//
// Each evaluation looks at the EvaluationPeriods newest complete periods
// (a period is complete once it has ended: the newest ends at
// now.Truncate(Period)). A period's datapoint breaches when it compares
// with the threshold as the alarm's ComparisonOperator says. Missing
// periods count as TreatMissingData says:
//
//   - breaching / notBreaching: as a breaching / non-breaching datapoint;
//   - missing (the default): not counted; if every period is missing the
//     alarm goes to INSUFFICIENT_DATA;
//   - ignore: not counted; if every period is missing the state stays.
//
// The alarm is in ALARM when at least DatapointsToAlarm of the counted
// periods breach, else OK. Evaluate reads no clock and starts no goroutine;
// the caller persists the State and acts on a transition.
package alarm

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// State is an alarm state.
type State string

// The alarm states.
const (
	OK               State = "OK"
	Alarm            State = "ALARM"
	InsufficientData State = "INSUFFICIENT_DATA"
)

// Comparison operators (the threshold ones; anomaly-detection operators
// need bands Hearth does not compute).
const (
	GreaterThanOrEqualToThreshold = "GreaterThanOrEqualToThreshold"
	GreaterThanThreshold          = "GreaterThanThreshold"
	LessThanThreshold             = "LessThanThreshold"
	LessThanOrEqualToThreshold    = "LessThanOrEqualToThreshold"
)

// Operators lists the threshold comparison operators.
var Operators = []string{GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold}

// TreatMissingData values.
const (
	Missing      = "missing"
	Ignore       = "ignore"
	Breaching    = "breaching"
	NotBreaching = "notBreaching"
)

// Config is what evaluation needs of an alarm.
type Config struct {
	Period            time.Duration
	EvaluationPeriods int
	DatapointsToAlarm int // 0 means EvaluationPeriods
	Threshold         float64
	Comparison        string
	TreatMissingData  string // "" means missing
	Statistic         string // for ReasonData: "Average", "p90", …
}

// Datapoint is one period's value of the alarm's statistic. Timestamp is
// the period's start; NaN means missing.
type Datapoint struct {
	Timestamp time.Time
	Value     float64
}

// Result is an evaluation's outcome.
type Result struct {
	State State
	// Changed reports State differs from the previous state.
	Changed bool
	// Reason and ReasonData are StateReason and StateReasonData as
	// CloudWatch words them.
	Reason, ReasonData string
	// Evaluated holds the evaluation range's values, newest first (NaN
	// where missing).
	Evaluated []float64
	// Breaching holds the values of the breaching datapoints, newest first.
	Breaching []float64
}

// Breaches reports whether v breaches threshold t under operator op.
func Breaches(op string, v, t float64) bool {
	switch op {
	case GreaterThanOrEqualToThreshold:
		return v >= t
	case GreaterThanThreshold:
		return v > t
	case LessThanThreshold:
		return v < t
	case LessThanOrEqualToThreshold:
		return v <= t
	}
	return false
}

var opWords = map[string]string{
	GreaterThanOrEqualToThreshold: "greater than or equal to",
	GreaterThanThreshold:          "greater than",
	LessThanThreshold:             "less than",
	LessThanOrEqualToThreshold:    "less than or equal to",
}

// Evaluate returns the alarm's state at now given its datapoints (in any
// order; those outside the evaluation range are ignored) and its previous
// state.
func Evaluate(c Config, dps []Datapoint, prev State, now time.Time) Result {
	n := max(c.EvaluationPeriods, 1)
	m := c.DatapointsToAlarm
	if m <= 0 || m > n {
		m = n
	}
	end := now.Truncate(c.Period)
	oldest := end.Add(-time.Duration(n) * c.Period)
	vals := make([]float64, n) // 0 is the newest period
	starts := make([]time.Time, n)
	for i := range vals {
		vals[i] = math.NaN()
		starts[i] = end.Add(-time.Duration(i+1) * c.Period)
	}
	for _, dp := range dps {
		start := dp.Timestamp.Truncate(c.Period)
		if !start.Before(end) || start.Before(oldest) || math.IsNaN(dp.Value) {
			continue
		}
		vals[int(end.Sub(start)/c.Period)-1] = dp.Value
	}
	r := Result{Evaluated: vals}
	present, breaches := 0, 0
	// The reason lists the datapoints that decided: the breaching ones for
	// ALARM, the others for OK.
	var shownBreach, shownOK []string
	for i, v := range vals {
		missing := math.IsNaN(v)
		breach := false
		switch {
		case !missing:
			present++
			breach = Breaches(c.Comparison, v, c.Threshold)
			text := fmt.Sprintf("%s (%s)", num(v), starts[i].UTC().Format("02/01/06 15:04:05"))
			if breach {
				shownBreach = append(shownBreach, text)
			} else {
				shownOK = append(shownOK, text)
			}
		case c.TreatMissingData == Breaching:
			present++
			breach = true
		case c.TreatMissingData == NotBreaching:
			present++
		}
		if breach {
			breaches++
			if !missing {
				r.Breaching = append(r.Breaching, v)
			}
		}
	}
	switch {
	case present == 0 && c.TreatMissingData == Ignore:
		r.State = prev
		if r.State == "" {
			r.State = InsufficientData
		}
		r.Reason = fmt.Sprintf("Insufficient Data: %d datapoint%s unknown; missing data is ignored, so the state stays.", n, plural(n, " was", "s were"))
	case present == 0:
		r.State = InsufficientData
		r.Reason = fmt.Sprintf("Insufficient Data: %d datapoint%s unknown.", n, plural(n, " was", "s were"))
	case breaches >= m:
		r.State = Alarm
		r.Reason = thresholdReason(c, shownBreach, n, m, true)
	default:
		r.State = OK
		r.Reason = thresholdReason(c, shownOK, n, m, false)
	}
	r.Changed = r.State != prev
	r.ReasonData = reasonData(c, vals, starts, now)
	return r
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// thresholdReason words a threshold crossing as CloudWatch does, e.g.
// "Threshold Crossed: 3 out of the last 3 datapoints [0.9 (01/03/26
// 12:00:02), …] were greater than the threshold (0.5) (minimum 3
// datapoints for OK -> ALARM transition)."
func thresholdReason(c Config, shown []string, n, m int, alarm bool) string {
	words := opWords[c.Comparison]
	if !alarm {
		words = "not " + words
	}
	list := "[" + strings.Join(shown, ", ") + "]"
	if n == 1 {
		return fmt.Sprintf("Threshold Crossed: 1 datapoint %s was %s the threshold (%s).", list, words, num(c.Threshold))
	}
	s := fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints %s %s %s the threshold (%s)", len(shown), n, list, plural(len(shown), "was", "were"), words, num(c.Threshold))
	if alarm {
		return s + fmt.Sprintf(" (minimum %d datapoint%s for OK -> ALARM transition).", m, plural(m, "", "s"))
	}
	return s + fmt.Sprintf(" (minimum %d datapoint%s for ALARM -> OK transition).", n-m+1, plural(n-m+1, "", "s"))
}

// num prints a double as CloudWatch's messages do (Java's Double.toString
// for ordinary magnitudes: always a fraction).
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEN") {
		s += ".0"
	}
	return s
}

// reasonData is StateReasonData: the JSON CloudWatch attaches to a
// threshold evaluation.
func reasonData(c Config, vals []float64, starts []time.Time, now time.Time) string {
	type point struct {
		Timestamp string   `json:"timestamp"`
		Value     *float64 `json:"value,omitempty"`
	}
	d := struct {
		Version             string    `json:"version"`
		QueryDate           string    `json:"queryDate"`
		StartDate           string    `json:"startDate"`
		Statistic           string    `json:"statistic,omitempty"`
		Period              int64     `json:"period"`
		RecentDatapoints    []float64 `json:"recentDatapoints"`
		Threshold           float64   `json:"threshold"`
		EvaluatedDatapoints []point   `json:"evaluatedDatapoints"`
	}{Version: "1.0", QueryDate: now.UTC().Format("2006-01-02T15:04:05.000+0000"), Statistic: c.Statistic,
		Period: int64(c.Period / time.Second), RecentDatapoints: []float64{}, Threshold: c.Threshold}
	if len(starts) > 0 {
		d.StartDate = starts[len(starts)-1].UTC().Format("2006-01-02T15:04:05.000+0000")
	}
	for i := len(vals) - 1; i >= 0; i-- { // oldest first, as CloudWatch lists them
		if !math.IsNaN(vals[i]) {
			d.RecentDatapoints = append(d.RecentDatapoints, vals[i])
		}
	}
	for i, v := range vals {
		p := point{Timestamp: starts[i].UTC().Format("2006-01-02T15:04:05.000+0000")}
		if !math.IsNaN(v) {
			p.Value = &vals[i]
		}
		d.EvaluatedDatapoints = append(d.EvaluatedDatapoints, p)
	}
	b, _ := json.Marshal(d)
	return string(b)
}
