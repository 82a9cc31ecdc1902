package tracking

import (
	"math"
	"time"
)

// evaluation is one policy's alarms at an instant.
type evaluation struct {
	alarm  Alarm
	latest float64   // the newest complete period's value, if any
	end    time.Time // end of the newest complete period
}

// evaluate looks at the LowDatapoints newest complete periods before now.
// A period is complete once it has ended: the newest one ends at
// now.Truncate(period).
func evaluate(p Policy, window []Datapoint, now time.Time) evaluation {
	period := p.period()
	end := now.Truncate(period)
	oldest := end.Add(-LowDatapoints * period)
	var vals [LowDatapoints]float64
	var have uint32
	for _, dp := range window {
		if math.IsNaN(dp.Value) {
			continue
		}
		start := dp.Timestamp.Truncate(period)
		if !start.Before(end) || start.Before(oldest) {
			continue
		}
		i := int(end.Sub(start)/period) - 1 // 0 is the newest period
		vals[i] = dp.Value
		have |= 1 << i
	}
	ev := evaluation{end: end, latest: math.NaN()}
	if have&1 != 0 {
		ev.latest = vals[0]
	}
	const highMask = 1<<HighDatapoints - 1
	if have&highMask == highMask && allOf(vals[:HighDatapoints], func(v float64) bool { return v > p.TargetValue }) {
		ev.alarm = AlarmHigh
		return ev
	}
	const lowMask = 1<<LowDatapoints - 1
	low := LowFactor * p.TargetValue
	if have&lowMask == lowMask && allOf(vals[:], func(v float64) bool { return v < low }) {
		ev.alarm = AlarmLow
	}
	return ev
}

// evaluateInput is evaluate, with the alarm state taken from in.Alarm when
// given. An alarm in ALARM without a latest datapoint to size the change
// by counts as none.
func evaluateInput(in Input, now time.Time) evaluation {
	ev := evaluate(in.Policy, in.Window, now)
	if in.Alarm != nil {
		ev.alarm = *in.Alarm
		if math.IsNaN(ev.latest) {
			ev.alarm = AlarmNone
		}
	}
	return ev
}

func allOf(vs []float64, ok func(float64) bool) bool {
	for _, v := range vs {
		if !ok(v) {
			return false
		}
	}
	return true
}

// ActiveAlarm reports which of the policy's alarms is in ALARM at now, given
// its metric datapoints: AlarmHigh after 3 consecutive complete periods above
// TargetValue, AlarmLow after 15 consecutive complete periods below
// 0.9 × TargetValue, otherwise AlarmNone (OK or insufficient data).
func ActiveAlarm(p Policy, window []Datapoint, now time.Time) Alarm {
	return evaluate(p, window, now).alarm
}

// Decide evaluates one target-tracking policy. It is DecideAll with a single
// input.
func Decide(p Policy, window []Datapoint, st State, t Target, now time.Time) (Decision, State) {
	return DecideAll([]Input{{Policy: p, Window: window}}, st, t, now)
}

// DecideAll evaluates every target-tracking policy of one scalable target
// and returns what to do and the State to persist.
//
// Capacity: ceil(base × metric ÷ target) with the latest datapoint, clamped
// to [Min, Max]. For scale-out, base is the current capacity, or 1 when it is
// 0 so that a target at zero can grow. Scale-in rounds up too: 10 × 6.67 ÷ 10
// = 6.67 keeps 7, never removing capacity the formula still wants, and AWS
// documents scale-in as the conservative direction. A result that does not
// move capacity in the alarm's direction does not scale (Reason says why).
//
// Metric: the latest datapoint, not the window's average; the alarm's
// consecutive-breach rule already demands persistence, and the latest value
// is the load the new capacity must carry.
//
// Cooldowns (per target, started only by policy-driven scaling):
//   - after a scale-out, another scale-out happens before ScaleOutCooldown
//     ends only if it computes more than the capacity the last one set;
//   - scale-in waits for ScaleInCooldown to end, but a scale-out during it
//     proceeds at once and ends it;
//   - the scale-out cooldown does not hold back scale-in (AWS documents it
//     as limiting further scale-out only); AlarmLow's 15 periods keep
//     scale-in slow anyway. A scale-in ends a running scale-out cooldown.
//
// Several policies: scale out if any policy's AlarmHigh is in ALARM, to the
// largest capacity they compute; scale in only if every policy that allows
// scale-in (DisableScaleIn false) has AlarmLow in ALARM, to the largest
// capacity they compute. DynamicScalingOutSuspended and
// DynamicScalingInSuspended stop the respective direction.
//
// A period's data scales at most once: a policy whose newest complete period
// is not newer than State.ActedOn is not acted on again.
func DecideAll(in []Input, st State, t Target, now time.Time) (Decision, State) {
	d := Decision{Desired: t.Current, Policy: -1, Metric: math.NaN()}
	lo, hi := t.Min, max(t.Max, t.Min)

	// Scale out: any policy.
	var outEnd time.Time
	high, stale := false, false
	for i, x := range in {
		ev := evaluateInput(x, now)
		if ev.alarm != AlarmHigh {
			continue
		}
		high = true
		if !ev.end.After(st.ActedOn) {
			stale = true
			continue
		}
		want := proportional(max(t.Current, 1), ev.latest, x.Policy.TargetValue, lo, hi)
		if d.Policy < 0 || want > d.Desired {
			d.Policy, d.Desired, d.Metric, outEnd = i, want, ev.latest, ev.end
		}
	}
	if d.Policy >= 0 {
		d.Direction, d.Alarm = Out, AlarmHigh
		switch {
		case t.DynamicScalingOutSuspended:
			d.Reason = ReasonScaleOutSuspended
		case d.Desired <= t.Current && t.Current >= hi:
			d.Reason = ReasonAlreadyAtMaxCapacity
		case d.Desired <= t.Current:
			d.Reason = ReasonAlreadyAtDesiredCapacity
		case now.Before(st.ScaleOutCooldownEnd) && d.Desired <= st.LastScaleOutCapacity:
			d.Reason = ReasonScaleOutCooldown
		default:
			d.Scale = true
			return d, State{
				ScaleOutCooldownEnd:  now.Add(in[d.Policy].Policy.ScaleOutCooldown),
				LastScaleOutCapacity: d.Desired,
				ActedOn:              outEnd,
			}
		}
		d.Desired = t.Current
		return d, st
	}
	if high { // only alarms already acted on this period
		d.Reason = ReasonPeriodAlreadyActedOn
		return d, st
	}

	// Scale in: every policy that allows it.
	voters, lows, disabledLow := 0, 0, -1
	var inEnd time.Time
	for i, x := range in {
		ev := evaluateInput(x, now)
		if x.Policy.DisableScaleIn {
			if ev.alarm == AlarmLow && disabledLow < 0 {
				disabledLow = i
			}
			continue
		}
		voters++
		if ev.alarm != AlarmLow {
			continue
		}
		if !ev.end.After(st.ActedOn) {
			stale = true
			continue
		}
		lows++
		want := proportional(t.Current, ev.latest, x.Policy.TargetValue, lo, hi)
		if lows == 1 || want > d.Desired {
			d.Policy, d.Desired, d.Metric, inEnd = i, want, ev.latest, ev.end
		}
	}
	switch {
	case voters == 0 && disabledLow >= 0:
		ev := evaluateInput(in[disabledLow], now)
		return Decision{Desired: t.Current, Direction: In, Alarm: AlarmLow, Policy: disabledLow,
			Metric: ev.latest, Reason: ReasonScaleInDisabled}, st
	case voters == 0 || lows < voters:
		d = Decision{Desired: t.Current, Policy: -1, Metric: math.NaN()}
		if stale {
			d.Reason = ReasonPeriodAlreadyActedOn
		}
		return d, st
	}
	d.Direction, d.Alarm = In, AlarmLow
	switch {
	case t.DynamicScalingInSuspended:
		d.Reason = ReasonScaleInSuspended
	case d.Desired >= t.Current && t.Current <= lo:
		d.Reason = ReasonAlreadyAtMinCapacity
	case d.Desired >= t.Current:
		d.Reason = ReasonAlreadyAtDesiredCapacity
	case now.Before(st.ScaleInCooldownEnd):
		d.Reason = ReasonScaleInCooldown
	default:
		d.Scale = true
		return d, State{ScaleInCooldownEnd: now.Add(in[d.Policy].Policy.ScaleInCooldown), ActedOn: inEnd}
	}
	d.Desired = t.Current
	return d, st
}

// proportional returns ceil(base × metric ÷ target) clamped to [lo, hi].
// Products within a part in a billion of an integer count as that integer,
// so that 3 × 0.7 ÷ 0.7 does not round up to 4.
func proportional(base int, metric, target float64, lo, hi int) int {
	v := float64(base) * metric / target
	switch {
	case math.IsNaN(v) || v <= float64(lo):
		return lo
	case v >= float64(hi):
		return hi
	}
	if r := math.Round(v); math.Abs(v-r) <= 1e-9*math.Max(1, v) {
		v = r
	}
	return min(max(int(math.Ceil(v)), lo), hi)
}
