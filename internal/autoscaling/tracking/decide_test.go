package tracking

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var t0 = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

// window returns one datapoint per period, the last one for the period that
// ended at now; NaN leaves a period without a datapoint.
func window(now time.Time, period time.Duration, values ...float64) []Datapoint {
	w := make([]Datapoint, 0, len(values))
	start := now.Add(-time.Duration(len(values)) * period)
	for i, v := range values {
		if !math.IsNaN(v) {
			w = append(w, Datapoint{Timestamp: start.Add(time.Duration(i) * period), Value: v})
		}
	}
	return w
}

func repeat(v float64, n int) []float64 {
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = v
	}
	return vs
}

var nan = math.NaN()

// cmpDecision compares decisions, treating NaN metrics as equal.
var cmpDecision = cmpopts.EquateNaNs()

func TestActiveAlarm(t *testing.T) {
	p := Policy{TargetValue: 50}
	now := t0
	tests := []struct {
		name   string
		values []float64
		now    time.Time
		want   Alarm
	}{
		{"three above", []float64{60, 70, 80}, now, AlarmHigh},
		{"two above are not enough", []float64{40, 70, 80}, now, AlarmNone},
		{"at the target is not above", []float64{50, 70, 80}, now, AlarmNone},
		{"a gap breaks the high streak", []float64{60, nan, 80}, now, AlarmNone},
		{"stale data is insufficient", []float64{60, 70, 80, nan}, now, AlarmNone},
		{"mid-period uses completed periods", []float64{60, 70, 80}, now.Add(30 * time.Second), AlarmHigh},
		{"fifteen below 90 percent", repeat(44.9, 15), now, AlarmLow},
		{"fourteen below are not enough", append([]float64{46}, repeat(44.9, 14)...), now, AlarmNone},
		{"exactly 90 percent is not below", repeat(45, 15), now, AlarmNone},
		{"a gap breaks the low streak", append(append(repeat(40, 7), nan), repeat(40, 7)...), now, AlarmNone},
		{"no data", nil, now, AlarmNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ActiveAlarm(p, window(now, time.Minute, tc.values...), tc.now); got != tc.want {
				t.Errorf("ActiveAlarm = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestActiveAlarmIgnoresTheIncompletePeriod(t *testing.T) {
	p := Policy{TargetValue: 50, Period: time.Second}
	w := window(t0, time.Second, 40, 60, 70)
	w = append(w, Datapoint{Timestamp: t0, Value: 80}) // the period [t0, t0+1s) is still running
	if got := ActiveAlarm(p, w, t0.Add(500*time.Millisecond)); got != AlarmNone {
		t.Errorf("ActiveAlarm counted an unfinished period: %v", got)
	}
	if got := ActiveAlarm(p, w, t0.Add(time.Second)); got != AlarmHigh {
		t.Errorf("ActiveAlarm once the period ended = %v, want AlarmHigh", got)
	}
}

func TestDecide(t *testing.T) {
	const cool = 300 * time.Second
	now := t0
	base := Policy{TargetValue: 50, ScaleOutCooldown: cool, ScaleInCooldown: cool}
	high := window(now, time.Minute, 60, 70, 80)
	low := window(now, time.Minute, repeat(20, 15)...)
	ended := now.Truncate(time.Minute)
	tests := []struct {
		name      string
		policy    Policy
		window    []Datapoint
		state     State
		target    Target
		want      Decision
		wantState State
	}{
		{
			name:   "high alarm scales out in proportion to the latest datapoint",
			policy: base, window: high, target: Target{Current: 4, Min: 1, Max: 20},
			want:      Decision{Scale: true, Desired: 7, Direction: Out, Alarm: AlarmHigh, Metric: 80}, // ceil(4*80/50) = ceil(6.4)
			wantState: State{ScaleOutCooldownEnd: now.Add(cool), LastScaleOutCapacity: 7, ActedOn: ended},
		},
		{
			name:   "scale-out clamped to max",
			policy: base, window: window(now, time.Minute, 100, 100, 100), target: Target{Current: 4, Min: 1, Max: 6},
			want:      Decision{Scale: true, Desired: 6, Direction: Out, Alarm: AlarmHigh, Metric: 100},
			wantState: State{ScaleOutCooldownEnd: now.Add(cool), LastScaleOutCapacity: 6, ActedOn: ended},
		},
		{
			name:   "already at max",
			policy: base, window: high, target: Target{Current: 6, Min: 1, Max: 6},
			want: Decision{Desired: 6, Direction: Out, Alarm: AlarmHigh, Metric: 80, Reason: ReasonAlreadyAtMaxCapacity},
		},
		{
			name:   "scale-out from zero counts one",
			policy: Policy{TargetValue: 0.5}, window: window(now, time.Minute, 0.9, 1, 1), target: Target{Current: 0, Min: 0, Max: 10},
			want:      Decision{Scale: true, Desired: 2, Direction: Out, Alarm: AlarmHigh, Metric: 1},
			wantState: State{ScaleOutCooldownEnd: now, LastScaleOutCapacity: 2, ActedOn: ended},
		},
		{
			name:   "scale-out cooldown blocks a scale-out no larger than the last",
			policy: base, window: window(now, time.Minute, 55, 55, 55),
			state:  State{ScaleOutCooldownEnd: now.Add(time.Second), LastScaleOutCapacity: 10},
			target: Target{Current: 8, Min: 1, Max: 20}, // ceil(8*55/50) = 9 <= 10
			want:   Decision{Desired: 8, Direction: Out, Alarm: AlarmHigh, Metric: 55, Reason: ReasonScaleOutCooldown},
		},
		{
			name:   "a larger scale-out proceeds during the scale-out cooldown",
			policy: base, window: window(now, time.Minute, 70, 70, 70),
			state:     State{ScaleOutCooldownEnd: now.Add(time.Second), LastScaleOutCapacity: 10},
			target:    Target{Current: 8, Min: 1, Max: 20}, // ceil(8*70/50) = 12 > 10
			want:      Decision{Scale: true, Desired: 12, Direction: Out, Alarm: AlarmHigh, Metric: 70},
			wantState: State{ScaleOutCooldownEnd: now.Add(cool), LastScaleOutCapacity: 12, ActedOn: ended},
		},
		{
			name:   "scale-out allowed the instant its cooldown ends",
			policy: base, window: window(now, time.Minute, 55, 55, 55),
			state:     State{ScaleOutCooldownEnd: now, LastScaleOutCapacity: 10},
			target:    Target{Current: 8, Min: 1, Max: 20},
			want:      Decision{Scale: true, Desired: 9, Direction: Out, Alarm: AlarmHigh, Metric: 55},
			wantState: State{ScaleOutCooldownEnd: now.Add(cool), LastScaleOutCapacity: 9, ActedOn: ended},
		},
		{
			name:   "scale-out during a scale-in cooldown proceeds and ends it",
			policy: base, window: high,
			state:     State{ScaleInCooldownEnd: now.Add(time.Minute)},
			target:    Target{Current: 4, Min: 1, Max: 20},
			want:      Decision{Scale: true, Desired: 7, Direction: Out, Alarm: AlarmHigh, Metric: 80},
			wantState: State{ScaleOutCooldownEnd: now.Add(cool), LastScaleOutCapacity: 7, ActedOn: ended},
		},
		{
			name:   "scale-out suspended",
			policy: base, window: high, target: Target{Current: 4, Min: 1, Max: 20, DynamicScalingOutSuspended: true},
			want: Decision{Desired: 4, Direction: Out, Alarm: AlarmHigh, Metric: 80, Reason: ReasonScaleOutSuspended},
		},
		{
			name:   "low alarm scales in, rounding up",
			policy: base, window: low, target: Target{Current: 8, Min: 1, Max: 20}, // 8*20/50 = 3.2 -> 4
			want:      Decision{Scale: true, Desired: 4, Direction: In, Alarm: AlarmLow, Metric: 20},
			wantState: State{ScaleInCooldownEnd: now.Add(cool), ActedOn: ended},
		},
		{
			name:   "scale-in clamped to min",
			policy: base, window: window(now, time.Minute, repeat(1, 15)...), target: Target{Current: 4, Min: 3, Max: 20},
			want:      Decision{Scale: true, Desired: 3, Direction: In, Alarm: AlarmLow, Metric: 1},
			wantState: State{ScaleInCooldownEnd: now.Add(cool), ActedOn: ended},
		},
		{
			name:   "already at min",
			policy: base, window: low, target: Target{Current: 3, Min: 3, Max: 20},
			want: Decision{Desired: 3, Direction: In, Alarm: AlarmLow, Metric: 20, Reason: ReasonAlreadyAtMinCapacity},
		},
		{
			name:   "scale-in that rounds back to the current capacity",
			policy: base, window: window(now, time.Minute, repeat(44, 15)...), target: Target{Current: 2, Min: 1, Max: 20}, // 1.76 -> 2
			want: Decision{Desired: 2, Direction: In, Alarm: AlarmLow, Metric: 44, Reason: ReasonAlreadyAtDesiredCapacity},
		},
		{
			name:   "scale-in blocked during the scale-in cooldown",
			policy: base, window: low, state: State{ScaleInCooldownEnd: now.Add(time.Second)},
			target: Target{Current: 8, Min: 1, Max: 20},
			want:   Decision{Desired: 8, Direction: In, Alarm: AlarmLow, Metric: 20, Reason: ReasonScaleInCooldown},
		},
		{
			name:   "scale-in not held back by the scale-out cooldown, and ends it",
			policy: base, window: low, state: State{ScaleOutCooldownEnd: now.Add(time.Minute), LastScaleOutCapacity: 8},
			target:    Target{Current: 8, Min: 1, Max: 20},
			want:      Decision{Scale: true, Desired: 4, Direction: In, Alarm: AlarmLow, Metric: 20},
			wantState: State{ScaleInCooldownEnd: now.Add(cool), ActedOn: ended},
		},
		{
			name:   "DisableScaleIn",
			policy: Policy{TargetValue: 50, DisableScaleIn: true}, window: low, target: Target{Current: 8, Min: 1, Max: 20},
			want: Decision{Desired: 8, Direction: In, Alarm: AlarmLow, Metric: 20, Reason: ReasonScaleInDisabled},
		},
		{
			name:   "DisableScaleIn still scales out",
			policy: Policy{TargetValue: 50, DisableScaleIn: true}, window: high, target: Target{Current: 4, Min: 1, Max: 20},
			want:      Decision{Scale: true, Desired: 7, Direction: Out, Alarm: AlarmHigh, Metric: 80},
			wantState: State{ScaleOutCooldownEnd: now, LastScaleOutCapacity: 7, ActedOn: ended},
		},
		{
			name:   "scale-in suspended",
			policy: base, window: low, target: Target{Current: 8, Min: 1, Max: 20, DynamicScalingInSuspended: true},
			want: Decision{Desired: 8, Direction: In, Alarm: AlarmLow, Metric: 20, Reason: ReasonScaleInSuspended},
		},
		{
			name:   "no alarm",
			policy: base, window: window(now, time.Minute, 50, 50, 50), target: Target{Current: 4, Min: 1, Max: 20},
			want: Decision{Desired: 4},
		},
		{
			name:   "a period already acted on does not scale again",
			policy: base, window: high, state: State{ActedOn: ended, ScaleOutCooldownEnd: now.Add(cool), LastScaleOutCapacity: 7},
			target: Target{Current: 7, Min: 1, Max: 20},
			want:   Decision{Desired: 7, Reason: ReasonPeriodAlreadyActedOn},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want.Direction == None {
				tc.want.Policy = -1
				tc.want.Metric = nan
			}
			if tc.wantState == (State{}) {
				tc.wantState = tc.state
			}
			got, st := Decide(tc.policy, tc.window, tc.state, tc.target, now)
			if diff := cmp.Diff(tc.want, got, cmpDecision); diff != "" {
				t.Errorf("Decision (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantState, st); diff != "" {
				t.Errorf("State (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideAll(t *testing.T) {
	now := t0
	high := func(v float64) []Datapoint { return window(now, time.Minute, v, v, v) }
	low := func(v float64) []Datapoint { return window(now, time.Minute, repeat(v, 15)...) }
	quiet := window(now, time.Minute, repeat(50, 15)...)
	p := Policy{TargetValue: 50}
	noIn := Policy{TargetValue: 50, DisableScaleIn: true}
	target := Target{Current: 8, Min: 1, Max: 40}
	tests := []struct {
		name string
		in   []Input
		want Decision
	}{
		{"any policy wanting out wins over one wanting in",
			[]Input{{Policy: p, Window: low(20)}, {Policy: p, Window: high(60)}},
			Decision{Scale: true, Desired: 10, Direction: Out, Alarm: AlarmHigh, Policy: 1, Metric: 60}},
		{"the largest scale-out wins",
			[]Input{{Policy: p, Window: high(60)}, {Policy: p, Window: high(100)}, {Policy: p, Window: high(75)}},
			Decision{Scale: true, Desired: 16, Direction: Out, Alarm: AlarmHigh, Policy: 1, Metric: 100}},
		{"scale in only when every policy wants in",
			[]Input{{Policy: p, Window: low(20)}, {Policy: p, Window: quiet}},
			Decision{Desired: 8, Policy: -1, Metric: nan}},
		{"all want in: the largest capacity wins",
			[]Input{{Policy: p, Window: low(20)}, {Policy: p, Window: low(40)}, {Policy: p, Window: low(10)}}, // 4, 7, 2
			Decision{Scale: true, Desired: 7, Direction: In, Alarm: AlarmLow, Policy: 1, Metric: 40}},
		{"a policy with scale-in disabled has no vote",
			[]Input{{Policy: p, Window: low(20)}, {Policy: noIn, Window: quiet}},
			Decision{Scale: true, Desired: 4, Direction: In, Alarm: AlarmLow, Policy: 0, Metric: 20}},
		{"no policy may scale in",
			[]Input{{Policy: noIn, Window: quiet}, {Policy: noIn, Window: low(20)}},
			Decision{Desired: 8, Direction: In, Alarm: AlarmLow, Policy: 1, Metric: 20, Reason: ReasonScaleInDisabled}},
		{"an alarm high on a no-scale-in policy still blocks scale-in of the others",
			[]Input{{Policy: p, Window: low(20)}, {Policy: noIn, Window: high(60)}},
			Decision{Scale: true, Desired: 10, Direction: Out, Alarm: AlarmHigh, Policy: 1, Metric: 60}},
		{"no policies", nil, Decision{Desired: 8, Policy: -1, Metric: nan}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := DecideAll(tc.in, State{}, target, now)
			if diff := cmp.Diff(tc.want, got, cmpDecision); diff != "" {
				t.Errorf("Decision (-want +got):\n%s", diff)
			}
		})
	}
}

type event struct {
	Period    int
	Direction Direction
	Desired   int
}

// simulate steps now one period at a time. The metric is per-instance load:
// load[i] / capacity during period i (NaN: no datapoint), so that it
// responds to scaling as a SageMaker utilization metric does. Decide runs at
// each period's end, and its decisions are applied at once.
func simulate(p Policy, load []float64, current, lo, hi int) []event {
	period := p.period()
	var w []Datapoint
	var st State
	var events []event
	for i, l := range load {
		start := t0.Add(time.Duration(i) * period)
		if !math.IsNaN(l) {
			w = append(w, Datapoint{Timestamp: start, Value: l / float64(max(current, 1))})
		}
		if len(w) > 20 {
			w = w[1:]
		}
		var d Decision
		d, st = Decide(p, w, st, Target{Current: current, Min: lo, Max: hi}, start.Add(period))
		if d.Scale {
			events = append(events, event{i, d.Direction, d.Desired})
			current = d.Desired
		}
	}
	return events
}

func TestTiming(t *testing.T) {
	aws := Policy{TargetValue: 10, ScaleOutCooldown: DefaultCooldown, ScaleInCooldown: DefaultCooldown}
	fast := aws
	fast.Period = time.Second
	noIn := aws
	noIn.DisableScaleIn = true
	tests := []struct {
		name            string
		policy          Policy
		load            []float64
		current, lo, hi int
		want            []event
	}{
		{"scale-out on the 3rd period above target, not the 2nd", aws, repeat(15, 8), 1, 1, 10,
			[]event{{2, Out, 2}}},
		{"the same timing with 1-second periods", fast, repeat(15, 8), 1, 1, 10,
			[]event{{2, Out, 2}}},
		{"a missing datapoint restarts the count", aws, []float64{15, 15, nan, 15, 15, 15, 15}, 1, 1, 10,
			[]event{{5, Out, 2}}},
		{"the alarm stays in ALARM and is re-evaluated each period", aws,
			[]float64{15, 15, 15, 40, 40, 40, 40, 40}, 1, 1, 10,
			// period 3: datapoints 15, 15, 20 are still above 10, and
			// ceil(2*20/10) = 4 beats the 2 set during the cooldown
			[]event{{2, Out, 2}, {3, Out, 4}}},
		{"scale-out stops at max", aws, repeat(100, 8), 1, 1, 3,
			[]event{{2, Out, 3}}},
		{"scale-in after the 15th period below 90%, not the 14th", aws, repeat(20, 25), 4, 1, 10,
			[]event{{14, In, 2}}},
		{"no scale-in at exactly 90%", aws, repeat(36, 40), 4, 1, 10, nil},
		{"scale-in rounds up", aws, repeat(66.7, 20), 10, 1, 20,
			[]event{{14, In, 7}}},
		{"a missing datapoint delays scale-in", aws, append(append(repeat(20, 5), nan), repeat(20, 15)...), 4, 1, 10,
			[]event{{20, In, 2}}},
		{"DisableScaleIn never scales in", noIn, repeat(20, 40), 4, 1, 10, nil},
		{"scale-in cooldown spaces scale-ins", Policy{TargetValue: 10, ScaleInCooldown: 20 * time.Minute},
			append(repeat(40, 15), repeat(10, 60)...), 8, 1, 10,
			// 8 -> 4 at period 14 (metric 5); at 4 the metric is 2.5 and AlarmLow
			// stays in ALARM, but the next scale-in waits for the cooldown: 20
			// periods after period 14 is period 34.
			[]event{{14, In, 4}, {34, In, 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := simulate(tc.policy, tc.load, tc.current, tc.lo, tc.hi)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("scaling events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideIsIdempotentWithinAPeriod(t *testing.T) {
	p := Policy{TargetValue: 10}
	now := t0
	w := window(now, time.Minute, 30, 30, 30)
	target := Target{Current: 2, Min: 1, Max: 100}
	d, st := Decide(p, w, State{}, target, now)
	if !d.Scale || d.Desired != 6 {
		t.Fatalf("first Decide = %+v, want a scale-out to 6", d)
	}
	// Called again later in the same period, with the new capacity and the
	// same data: the compounding scale-out to 18 must not happen.
	target.Current = d.Desired
	d2, st2 := Decide(p, w, st, target, now.Add(10*time.Second))
	if d2.Scale || st2 != st {
		t.Fatalf("second Decide in the period = %+v, %+v; want no scaling and no state change", d2, st2)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		ok     bool
	}{
		{"typical", Policy{TargetValue: 0.5, ScaleOutCooldown: DefaultCooldown, ScaleInCooldown: DefaultCooldown}, true},
		{"zero target", Policy{TargetValue: 0}, false},
		{"negative target", Policy{TargetValue: -1}, false},
		{"NaN target", Policy{TargetValue: math.NaN()}, false},
		{"huge target", Policy{TargetValue: 1e200}, false},
		{"negative cooldown", Policy{TargetValue: 1, ScaleInCooldown: -time.Second}, false},
		{"negative period", Policy{TargetValue: 1, Period: -time.Second}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Validate()
			if tc.ok != (err == nil) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("error %v does not match ErrInvalidPolicy", err)
			}
		})
	}
}

func TestProportionalRounding(t *testing.T) {
	tests := []struct {
		name           string
		base           int
		metric, target float64
		lo, hi, want   int
	}{
		{"exact product stays", 3, 0.7, 0.7, 0, 100, 3},
		{"float noise does not add one", 10, 0.3 * 3, 0.9, 0, 100, 10},
		{"fraction rounds up", 10, 6.67, 10, 0, 100, 7},
		{"overflowing metric clamps", 10, math.Inf(1), 1, 0, 100, 100},
		{"negative metric clamps to min", 10, -5, 1, 2, 100, 2},
		{"NaN clamps to min", 10, math.NaN(), 1, 2, 100, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := proportional(tc.base, tc.metric, tc.target, tc.lo, tc.hi); got != tc.want {
				t.Errorf("proportional(%d, %g, %g) = %d, want %d", tc.base, tc.metric, tc.target, got, tc.want)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	if AlarmHigh.String() != "AlarmHigh" || AlarmLow.String() != "AlarmLow" || AlarmNone.String() != "None" {
		t.Errorf("alarm names: %v %v %v", AlarmHigh, AlarmLow, AlarmNone)
	}
	if Out.String() != "Out" || In.String() != "In" || None.String() != "None" {
		t.Errorf("direction names: %v %v %v", Out, In, None)
	}
	if !ReasonAlreadyAtMaxCapacity.NotScaledCode() || ReasonScaleOutCooldown.NotScaledCode() {
		t.Errorf("NotScaledCode misclassifies reasons")
	}
}

func BenchmarkDecide(b *testing.B) {
	p := Policy{TargetValue: 50, ScaleOutCooldown: DefaultCooldown, ScaleInCooldown: DefaultCooldown}
	w := window(t0, time.Minute, repeat(20, 20)...)
	target := Target{Current: 8, Min: 1, Max: 20}
	for b.Loop() {
		if d, _ := Decide(p, w, State{}, target, t0); !d.Scale {
			b.Fatal("expected a scale-in")
		}
	}
}

func BenchmarkDecideAllThreePolicies(b *testing.B) {
	in := []Input{
		{Policy: Policy{TargetValue: 50}, Window: window(t0, time.Minute, repeat(20, 15)...)},
		{Policy: Policy{TargetValue: 0.5}, Window: window(t0, time.Minute, repeat(0.7, 15)...)},
		{Policy: Policy{TargetValue: 10, DisableScaleIn: true}, Window: window(t0, time.Minute, repeat(5, 15)...)},
	}
	target := Target{Current: 8, Min: 1, Max: 20}
	for b.Loop() {
		if d, _ := DecideAll(in, State{}, target, t0); !d.Scale {
			b.Fatal("expected a scale-out")
		}
	}
}
