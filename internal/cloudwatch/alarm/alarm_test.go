package alarm

import (
	"math"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// series returns one datapoint per minute starting at t0, oldest first;
// NaN entries are left out (missing).
func series(vals ...float64) []Datapoint {
	var out []Datapoint
	for i, v := range vals {
		if !math.IsNaN(v) {
			out = append(out, Datapoint{Timestamp: t0.Add(time.Duration(i) * time.Minute), Value: v})
		}
	}
	return out
}

var nan = math.NaN()

func TestEvaluate(t *testing.T) {
	// Five one-minute periods from t0; evaluated at the end of the fifth.
	now := t0.Add(5*time.Minute + 10*time.Second)
	cfg := func(n, m int, op, missing string) Config {
		return Config{Period: time.Minute, EvaluationPeriods: n, DatapointsToAlarm: m, Threshold: 10, Comparison: op, TreatMissingData: missing, Statistic: "Sum"}
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		vals []float64
		prev State
		want State
	}{
		{"3 of 3 above", cfg(3, 3, GreaterThanThreshold, ""), []float64{0, 0, 11, 12, 13}, OK, Alarm},
		{"2 of 3 above is not 3 of 3", cfg(3, 3, GreaterThanThreshold, ""), []float64{0, 0, 5, 12, 13}, OK, OK},
		{"2 of 3 above is 2 of 3", cfg(3, 2, GreaterThanThreshold, ""), []float64{0, 0, 5, 12, 13}, OK, Alarm},
		{"M of N in any order", cfg(3, 2, GreaterThanThreshold, ""), []float64{0, 0, 12, 5, 13}, OK, Alarm},
		{"older periods do not count", cfg(2, 2, GreaterThanThreshold, ""), []float64{50, 50, 50, 0, 50}, OK, OK},
		{"equal is not greater", cfg(1, 1, GreaterThanThreshold, ""), []float64{0, 0, 0, 0, 10}, OK, OK},
		{"equal is greater or equal", cfg(1, 1, GreaterThanOrEqualToThreshold, ""), []float64{0, 0, 0, 0, 10}, OK, Alarm},
		{"less than", cfg(2, 2, LessThanThreshold, ""), []float64{0, 0, 0, 9, 9.99}, OK, Alarm},
		{"less or equal", cfg(2, 2, LessThanOrEqualToThreshold, ""), []float64{0, 0, 0, 10, 10}, OK, Alarm},
		{"all missing: insufficient data", cfg(3, 3, GreaterThanThreshold, Missing), []float64{50, 50, nan, nan, nan}, Alarm, InsufficientData},
		{"all missing, ignore: state stays", cfg(3, 3, GreaterThanThreshold, Ignore), []float64{50, 50, nan, nan, nan}, Alarm, Alarm},
		{"all missing, breaching", cfg(3, 3, GreaterThanThreshold, Breaching), []float64{nan, nan, nan, nan, nan}, OK, Alarm},
		{"all missing, notBreaching", cfg(3, 3, GreaterThanThreshold, NotBreaching), []float64{nan, nan, nan, nan, nan}, Alarm, OK},
		{"missing fills the streak when breaching", cfg(3, 3, GreaterThanThreshold, Breaching), []float64{0, 0, 20, nan, 20}, OK, Alarm},
		{"missing breaks the streak when notBreaching", cfg(3, 3, GreaterThanThreshold, NotBreaching), []float64{0, 0, 20, nan, 20}, OK, OK},
		{"missing: present ones decide", cfg(3, 2, GreaterThanThreshold, Missing), []float64{0, 0, 20, nan, 20}, OK, Alarm},
		{"the period in progress is not evaluated", cfg(1, 1, GreaterThanThreshold, ""), []float64{0, 0, 0, 0, 0, 99}, OK, OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Evaluate(tc.cfg, series(tc.vals...), tc.prev, now)
			if r.State != tc.want || r.Changed != (tc.want != tc.prev) {
				t.Fatalf("state %s (changed %v), want %s; reason %q", r.State, r.Changed, tc.want, r.Reason)
			}
		})
	}
}

func TestReasonsAreCloudWatchsWords(t *testing.T) {
	now := t0.Add(3 * time.Minute)
	c := Config{Period: time.Minute, EvaluationPeriods: 3, Threshold: 0.5, Comparison: GreaterThanThreshold, Statistic: "Average"}
	r := Evaluate(c, series(0.9, 1, 2), OK, now)
	want := "Threshold Crossed: 3 out of the last 3 datapoints [2.0 (01/03/26 12:02:00), 1.0 (01/03/26 12:01:00), 0.9 (01/03/26 12:00:00)] " +
		"were greater than the threshold (0.5) (minimum 3 datapoints for OK -> ALARM transition)."
	if r.Reason != want {
		t.Fatalf("reason\n%s\nwant\n%s", r.Reason, want)
	}
	if !strings.Contains(r.ReasonData, `"recentDatapoints":[0.9,1,2]`) || !strings.Contains(r.ReasonData, `"threshold":0.5`) ||
		!strings.Contains(r.ReasonData, `"statistic":"Average"`) || !strings.Contains(r.ReasonData, `"period":60`) {
		t.Fatalf("reason data %s", r.ReasonData)
	}
	if len(r.Breaching) != 3 || r.Breaching[0] != 2 {
		t.Fatalf("breaching %v, want newest first", r.Breaching)
	}
	r = Evaluate(Config{Period: time.Minute, EvaluationPeriods: 1, Threshold: 5, Comparison: LessThanThreshold}, series(7), Alarm, t0.Add(time.Minute))
	if r.State != OK || r.Reason != "Threshold Crossed: 1 datapoint [7.0 (01/03/26 12:00:00)] was not less than the threshold (5.0)." {
		t.Fatalf("%s %q", r.State, r.Reason)
	}
	r = Evaluate(c, nil, OK, now)
	if r.Reason != "Insufficient Data: 3 datapoints were unknown." {
		t.Fatalf("%q", r.Reason)
	}
}

// FuzzEvaluate checks Evaluate's invariants on any datapoints: ALARM means
// at least DatapointsToAlarm breaching periods in range, OK means fewer,
// and the evaluated range has EvaluationPeriods entries.
func FuzzEvaluate(f *testing.F) {
	f.Add(uint8(3), uint8(2), 10.0, uint8(0), uint8(0), []byte{20, 0, 30, 5})
	f.Add(uint8(1), uint8(1), 0.0, uint8(2), uint8(1), []byte{})
	f.Add(uint8(5), uint8(3), -1.0, uint8(3), uint8(3), []byte{255, 1, 128})
	f.Fuzz(func(t *testing.T, n, m uint8, threshold float64, op, missing uint8, raw []byte) {
		if n == 0 || n > 50 || math.IsNaN(threshold) {
			return
		}
		c := Config{Period: time.Minute, EvaluationPeriods: int(n), DatapointsToAlarm: int(m), Threshold: threshold,
			Comparison: Operators[int(op)%len(Operators)], TreatMissingData: []string{"", Missing, Ignore, Breaching, NotBreaching}[int(missing)%5]}
		var dps []Datapoint
		for i, b := range raw {
			if b == 255 {
				continue // missing
			}
			dps = append(dps, Datapoint{Timestamp: t0.Add(time.Duration(i) * time.Minute), Value: float64(b) - 100})
		}
		now := t0.Add(time.Duration(len(raw)) * time.Minute)
		r := Evaluate(c, dps, OK, now)
		if len(r.Evaluated) != int(n) {
			t.Fatalf("%d evaluated, want %d", len(r.Evaluated), n)
		}
		need := int(m)
		if need <= 0 || need > int(n) {
			need = int(n)
		}
		breaches := 0
		for _, v := range r.Evaluated {
			switch {
			case math.IsNaN(v) && c.TreatMissingData == Breaching:
				breaches++
			case !math.IsNaN(v) && Breaches(c.Comparison, v, threshold):
				breaches++
			}
		}
		switch r.State {
		case Alarm:
			if breaches < need {
				t.Fatalf("ALARM with %d breaching of %d needed", breaches, need)
			}
		case OK:
			if breaches >= need {
				t.Fatalf("OK with %d breaching of %d needed", breaches, need)
			}
		}
		if len(r.Breaching) > breaches {
			t.Fatalf("%d breaching values listed, %d breaching", len(r.Breaching), breaches)
		}
	})
}
