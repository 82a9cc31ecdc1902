package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"hearth/internal/autoscaling/tracking"
	"hearth/internal/awserr"
	"hearth/internal/awsjson"
	"hearth/internal/store"
)

// Step scaling: a policy CloudWatch alarms invoke, which moves capacity by
// the step adjustment whose interval holds the breach (the alarm's metric
// minus its threshold).

// Adjustment types.
const (
	ChangeInCapacity        = "ChangeInCapacity"
	PercentChangeInCapacity = "PercentChangeInCapacity"
	ExactCapacity           = "ExactCapacity"
)

var (
	adjustmentTypes  = []string{ChangeInCapacity, PercentChangeInCapacity, ExactCapacity}
	aggregationTypes = []string{"Average", "Minimum", "Maximum"}
)

const kindStepState store.Kind = "step-scaling-state"

// StepAdjustment is one interval of a step scaling policy.
type StepAdjustment struct {
	MetricIntervalLowerBound *float64 `json:"MetricIntervalLowerBound,omitempty"`
	MetricIntervalUpperBound *float64 `json:"MetricIntervalUpperBound,omitempty"`
	ScalingAdjustment        *int32   `json:"ScalingAdjustment"`
}

// StepScalingConfig is StepScalingPolicyConfiguration.
type StepScalingConfig struct {
	AdjustmentType         *string          `json:"AdjustmentType,omitempty"`
	StepAdjustments        []StepAdjustment `json:"StepAdjustments,omitempty"`
	MinAdjustmentMagnitude *int32           `json:"MinAdjustmentMagnitude,omitempty"`
	Cooldown               *int32           `json:"Cooldown,omitempty"`
	MetricAggregationType  *string          `json:"MetricAggregationType,omitempty"`
}

func lower(a StepAdjustment) float64 {
	if a.MetricIntervalLowerBound == nil {
		return math.Inf(-1)
	}
	return *a.MetricIntervalLowerBound
}

func upper(a StepAdjustment) float64 {
	if a.MetricIntervalUpperBound == nil {
		return math.Inf(1)
	}
	return *a.MetricIntervalUpperBound
}

// checkStep validates a step scaling configuration as Application Auto
// Scaling does.
func checkStep(c *StepScalingConfig) error {
	if c == nil {
		return validation("StepScalingPolicyConfiguration is required for policy type StepScaling")
	}
	var v awserr.Violations
	p := "stepScalingPolicyConfiguration"
	if c.AdjustmentType != nil && !contains(adjustmentTypes, *c.AdjustmentType) {
		v.Add(*c.AdjustmentType, p+".adjustmentType", enumMsg(adjustmentTypes))
	}
	if c.MetricAggregationType != nil && !contains(aggregationTypes, *c.MetricAggregationType) {
		v.Add(*c.MetricAggregationType, p+".metricAggregationType", enumMsg(aggregationTypes))
	}
	for i, a := range c.StepAdjustments {
		if a.ScalingAdjustment == nil {
			v.Add(nil, fmt.Sprintf("%s.stepAdjustments.%d.member.scalingAdjustment", p, i+1), "Member must not be null")
		}
		for _, b := range []*float64{a.MetricIntervalLowerBound, a.MetricIntervalUpperBound} {
			if b != nil && (math.IsNaN(*b) || math.IsInf(*b, 0)) {
				v.Add(strings.Trim(awsjson.FloatText(*b), `"`), fmt.Sprintf("%s.stepAdjustments.%d.member", p, i+1), "Metric interval bounds must be finite numbers")
			}
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if c.AdjustmentType == nil {
		return validation("AdjustmentType is required when creating a step scaling policy.")
	}
	if len(c.StepAdjustments) == 0 {
		return validation("StepAdjustments is required when creating a step scaling policy: give at least one step adjustment.")
	}
	if c.MinAdjustmentMagnitude != nil {
		if *c.AdjustmentType != PercentChangeInCapacity {
			return validation("MinAdjustmentMagnitude is only applicable for PercentChangeInCapacity adjustment type.")
		}
		if *c.MinAdjustmentMagnitude < 1 {
			return validation("MinAdjustmentMagnitude must be at least 1.")
		}
	}
	if c.Cooldown != nil && *c.Cooldown < 0 {
		return validation("Cooldown must be non-negative.")
	}
	steps := slices.Clone(c.StepAdjustments)
	for _, a := range steps {
		if lower(a) >= upper(a) {
			return validation("Step adjustment's upper bound must be greater than its lower bound: lower %s, upper %s.", bound(a.MetricIntervalLowerBound), bound(a.MetricIntervalUpperBound))
		}
		if *c.AdjustmentType == ExactCapacity && *a.ScalingAdjustment < 0 {
			return validation("ScalingAdjustment must be non-negative for adjustment type ExactCapacity.")
		}
	}
	sort.Slice(steps, func(i, j int) bool { return lower(steps[i]) < lower(steps[j]) })
	for i := 1; i < len(steps); i++ {
		switch {
		case upper(steps[i-1]) > lower(steps[i]):
			return validation("Step adjustments must not overlap: [%s, %s) and [%s, %s).",
				bound(steps[i-1].MetricIntervalLowerBound), bound(steps[i-1].MetricIntervalUpperBound), bound(steps[i].MetricIntervalLowerBound), bound(steps[i].MetricIntervalUpperBound))
		case upper(steps[i-1]) < lower(steps[i]):
			return validation("Step adjustments must not have gaps: nothing covers %s to %s.", bound(steps[i-1].MetricIntervalUpperBound), bound(steps[i].MetricIntervalLowerBound))
		}
	}
	return nil
}

func bound(b *float64) string {
	if b == nil {
		return "null"
	}
	return fmt.Sprint(*b)
}

// putStepPolicy stores a step scaling policy.
func (s *Service) putStepPolicy(ctx context.Context, id targetID, name string, c *StepScalingConfig) (map[string]any, error) {
	if err := checkStep(c); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out policyRecord
	var gone []Alarm
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		if _, err := s.getTarget(tx, id); err != nil {
			return err
		}
		key := exactKey(id.ns, id.rid, id.dim, name)
		var err error
		if out, err = s.policyToPut(tx, id, name); err != nil {
			return err
		}
		gone = out.Alarms // a target tracking policy's alarms go
		out.PolicyName = name
		out.ServiceNamespace, out.ResourceId, out.ScalableDimension = id.ns, id.rid, id.dim
		out.PolicyType = "StepScaling"
		out.StepScalingPolicyConfiguration = c
		out.TargetTrackingScalingPolicyConfiguration = nil
		out.Alarms = []Alarm{}
		out.State = nil
		if _, err := tx.Delete(kindStepState, key); err != nil {
			return err
		}
		return tx.Put(kindPolicy, key, out.CreationTime.Time, out)
	})
	if err != nil {
		return nil, err
	}
	s.deleteAlarms(ctx, gone)
	return map[string]any{"PolicyARN": out.PolicyARN, "Alarms": []Alarm{}}, nil
}

// AlarmTrigger is a CloudWatch alarm invoking a policy.
type AlarmTrigger struct {
	AlarmName string
	// State is the alarm's state ("ALARM", "OK", "INSUFFICIENT_DATA").
	State     string
	Threshold float64
	// Values are the datapoints that put the alarm in its state, newest
	// first; NaN entries are missing periods.
	Values []float64
	At     time.Time
}

// stepState is what a step policy remembers between invocations.
type stepState struct {
	// CooldownEnd ends the cooldown of the policy's last scaling.
	CooldownEnd time.Time
	// Out tells whether that scaling added capacity; Base is the capacity
	// before it, which further scale-outs during the cooldown count from.
	Out  bool
	Base int
}

// ErrNoPolicy is returned by ExecutePolicy for an ARN naming no policy.
var ErrNoPolicy = errors.New("no scaling policy with that ARN")

// ExecutePolicy runs the policy policyARN for an alarm: a step scaling
// policy adjusts capacity by the step the breach falls in. A target
// tracking policy's own alarms drive it on the scaling loop, so invoking it
// here changes nothing.
func (s *Service) ExecutePolicy(ctx context.Context, policyARN string, tr AlarmTrigger) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p *policyRecord
	var t *ScalableTarget
	err := s.store.View(ctx, func(tx *store.Tx) error {
		pols, err := store.ListInto[policyRecord](tx, kindPolicy)
		if err != nil {
			return err
		}
		for i := range pols {
			if pols[i].PolicyARN == policyARN {
				p = &pols[i]
			}
		}
		if p == nil {
			return fmt.Errorf("%w: %s", ErrNoPolicy, policyARN)
		}
		t, err = s.getTarget(tx, targetID{p.ServiceNamespace, p.ResourceId, p.ScalableDimension})
		return err
	})
	if err != nil {
		return err
	}
	c := p.StepScalingPolicyConfiguration
	if c == nil || tr.State != "ALARM" {
		return nil
	}
	value, ok := aggregate(tr.Values, c.MetricAggregationType)
	if !ok {
		return nil
	}
	step, ok := findStep(c.StepAdjustments, value-tr.Threshold)
	if !ok {
		return nil
	}
	ep, variant, err := parseResourceID(t.ResourceId)
	if err != nil {
		return err
	}
	capy, err := s.targets.Capacity(ctx, ep, variant)
	if err != nil || !capy.InService {
		return err // deleted, or busy updating: the next period invokes again
	}
	cur := capy.Of(t.ScalableDimension)
	key := exactKey(p.ServiceNamespace, p.ResourceId, p.ScalableDimension, p.PolicyName)
	var st stepState
	if err := s.store.View(ctx, func(tx *store.Tx) error {
		err := tx.Get(kindStepState, key, &st)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}); err != nil {
		return err
	}
	now := tr.At
	inCooldown := now.Before(st.CooldownEnd)
	base := cur
	if inCooldown && st.Out && *step.ScalingAdjustment > 0 {
		base = st.Base // the cooling scale-out counts as part of this one
	}
	lo, hi := int(t.MinCapacity), int(t.MaxCapacity)
	want := adjust(base, *c.AdjustmentType, int(*step.ScalingAdjustment), c.MinAdjustmentMagnitude)
	desired := min(max(want, lo), hi)
	cause := fmt.Sprintf("monitor alarm %s in state ALARM triggered policy %s", tr.AlarmName, p.PolicyName)
	var reason tracking.Reason
	switch {
	case desired > cur && t.SuspendedState.out(), desired < cur && t.SuspendedState.in():
		return nil
	case desired > cur && inCooldown && !st.Out:
		// a scale-in is cooling down; a scale-out proceeds at once
	case desired < cur && inCooldown:
		return nil // scale-in waits for the cooldown to end
	case desired == cur && want > cur && cur >= hi:
		reason = tracking.ReasonAlreadyAtMaxCapacity
	case desired == cur && want < cur && cur <= lo:
		reason = tracking.ReasonAlreadyAtMinCapacity
	case desired == cur:
		if !inCooldown {
			reason = tracking.ReasonAlreadyAtDesiredCapacity
		}
	}
	if reason != "" {
		s.recordNotScaled(ctx, *t, key, cause, reason, cur)
		return nil
	}
	if desired == cur {
		return nil
	}
	delete(s.notScaled, key)
	cooldown := time.Duration(0)
	if c.Cooldown != nil {
		cooldown = time.Duration(*c.Cooldown) * time.Second
	}
	next := stepState{CooldownEnd: now.Add(cooldown), Out: desired > cur, Base: cur}
	if desired > cur && inCooldown && st.Out {
		next.Base = st.Base
	}
	if err := s.setCapacity(ctx, *t, desired, cause); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx *store.Tx) error { return tx.Put(kindStepState, key, now, next) })
}

// aggregate reduces the alarm's datapoints per MetricAggregationType
// (Average when unset).
func aggregate(vals []float64, how *string) (float64, bool) {
	var got []float64
	for _, v := range vals {
		if !math.IsNaN(v) {
			got = append(got, v)
		}
	}
	if len(got) == 0 {
		return 0, false
	}
	switch {
	case how != nil && *how == "Minimum":
		return slices.Min(got), true
	case how != nil && *how == "Maximum":
		return slices.Max(got), true
	}
	sum := 0.0
	for _, v := range got {
		sum += v
	}
	return sum / float64(len(got)), true
}

// findStep returns the step whose interval holds breach. Above the
// threshold a lower bound is inclusive and an upper bound exclusive; below
// it, the other way round (AWS's rule).
func findStep(steps []StepAdjustment, breach float64) (StepAdjustment, bool) {
	for _, a := range steps {
		lo, hi := lower(a), upper(a)
		var in bool
		if breach >= 0 {
			in = breach >= lo && breach < hi
		} else {
			in = breach > lo && breach <= hi
		}
		if in {
			return a, true
		}
	}
	return StepAdjustment{}, false
}

// adjust applies a step's adjustment to capacity cur. A percent change is
// rounded towards zero, but at least ±1 and at least MinAdjustmentMagnitude
// in size.
func adjust(cur int, kind string, n int, minMag *int32) int {
	switch kind {
	case ExactCapacity:
		return n
	case PercentChangeInCapacity:
		ch := float64(cur) * float64(n) / 100
		d := int(math.Trunc(ch))
		if d == 0 && ch != 0 {
			d = int(math.Copysign(1, ch))
		}
		if minMag != nil && d != 0 && abs(d) < int(*minMag) {
			d = int(*minMag) * sign(d)
		}
		return cur + d
	}
	return cur + n
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func sign(n int) int {
	if n < 0 {
		return -1
	}
	return 1
}
