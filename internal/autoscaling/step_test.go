package autoscaling

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

func TestAdjust(t *testing.T) {
	for _, tc := range []struct {
		cur  int
		kind string
		n    int
		mag  *int32
		want int
	}{
		{4, ChangeInCapacity, 2, nil, 6},
		{4, ChangeInCapacity, -3, nil, 1},
		{4, ExactCapacity, 7, nil, 7},
		{10, PercentChangeInCapacity, 25, nil, 12},           // 2.5 rounds down to 2
		{10, PercentChangeInCapacity, -25, nil, 8},           // -2.5 rounds up to -2
		{2, PercentChangeInCapacity, 10, nil, 3},             // 0.2 is at least 1
		{2, PercentChangeInCapacity, -10, nil, 1},            // -0.2 is at least -1
		{10, PercentChangeInCapacity, 10, ptr(int32(3)), 13}, // 1 raised to the minimum magnitude 3
		{10, PercentChangeInCapacity, -10, ptr(int32(3)), 7},
		{10, PercentChangeInCapacity, 50, ptr(int32(3)), 15}, // 5 is above the minimum
	} {
		if got := adjust(tc.cur, tc.kind, tc.n, tc.mag); got != tc.want {
			t.Errorf("adjust(%d, %s, %d) = %d, want %d", tc.cur, tc.kind, tc.n, got, tc.want)
		}
	}
}

func TestFindStep(t *testing.T) {
	steps := []StepAdjustment{
		{MetricIntervalUpperBound: ptr(0.0), ScalingAdjustment: ptr(int32(-1))},
		{MetricIntervalLowerBound: ptr(0.0), MetricIntervalUpperBound: ptr(10.0), ScalingAdjustment: ptr(int32(1))},
		{MetricIntervalLowerBound: ptr(10.0), ScalingAdjustment: ptr(int32(3))},
	}
	for _, tc := range []struct {
		breach float64
		want   int32
	}{{-5, -1}, {0, 1}, {9.99, 1}, {10, 3}, {1e9, 3}} {
		s, ok := findStep(steps, tc.breach)
		if !ok || *s.ScalingAdjustment != tc.want {
			t.Errorf("breach %v: step %+v %v, want %d", tc.breach, s, ok, tc.want)
		}
	}
	// Below the threshold the upper bound is inclusive.
	below := []StepAdjustment{{MetricIntervalLowerBound: ptr(-10.0), MetricIntervalUpperBound: ptr(0.0), ScalingAdjustment: ptr(int32(-1))}}
	if _, ok := findStep(below, -10); ok {
		t.Error("lower bound below the threshold is exclusive")
	}
	if _, ok := findStep(below, -0.5); !ok {
		t.Error("-0.5 is in (-10, 0]")
	}
}

func (e *env) putStep(name string, c StepScalingConfig) (string, error) {
	out, err := e.svc.PutScalingPolicy(context.Background(), &PutPolicyInput{PolicyName: ptr(name), ServiceNamespace: ptr(Namespace),
		ResourceId: ptr("endpoint/ep/variant/AllTraffic"), ScalableDimension: ptr(DimProvisioned), PolicyType: ptr("StepScaling"),
		StepScalingPolicyConfiguration: &c})
	if err != nil {
		return "", err
	}
	return out["PolicyARN"].(string), nil
}

func TestStepScalingPolicyValidation(t *testing.T) {
	e := newEnv(t)
	e.register(1, 8)
	up := StepAdjustment{MetricIntervalLowerBound: ptr(0.0), ScalingAdjustment: ptr(int32(1))}
	for _, tc := range []struct {
		name     string
		c        StepScalingConfig
		contains string
	}{
		{"no adjustment type", StepScalingConfig{StepAdjustments: []StepAdjustment{up}}, "AdjustmentType is required"},
		{"bad adjustment type", StepScalingConfig{AdjustmentType: ptr("Double"), StepAdjustments: []StepAdjustment{up}}, "Member must satisfy enum value set: [ChangeInCapacity, PercentChangeInCapacity, ExactCapacity]"},
		{"no steps", StepScalingConfig{AdjustmentType: ptr(ChangeInCapacity)}, "StepAdjustments is required"},
		{"magnitude without percent", StepScalingConfig{AdjustmentType: ptr(ChangeInCapacity), MinAdjustmentMagnitude: ptr(int32(2)), StepAdjustments: []StepAdjustment{up}}, "only applicable for PercentChangeInCapacity"},
		{"overlap", StepScalingConfig{AdjustmentType: ptr(ChangeInCapacity), StepAdjustments: []StepAdjustment{up,
			{MetricIntervalLowerBound: ptr(5.0), ScalingAdjustment: ptr(int32(2))}}}, "must not overlap"},
		{"gap", StepScalingConfig{AdjustmentType: ptr(ChangeInCapacity), StepAdjustments: []StepAdjustment{
			{MetricIntervalLowerBound: ptr(0.0), MetricIntervalUpperBound: ptr(5.0), ScalingAdjustment: ptr(int32(1))},
			{MetricIntervalLowerBound: ptr(6.0), ScalingAdjustment: ptr(int32(2))}}}, "must not have gaps"},
		{"missing adjustment", StepScalingConfig{AdjustmentType: ptr(ChangeInCapacity), StepAdjustments: []StepAdjustment{{MetricIntervalLowerBound: ptr(0.0)}}}, "scalingAdjustment"},
		{"bad aggregation", StepScalingConfig{AdjustmentType: ptr(ChangeInCapacity), MetricAggregationType: ptr("Sum"), StepAdjustments: []StepAdjustment{up}}, "metricAggregationType"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.putStep("s", tc.c)
			if code(err) != "ValidationException" || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("err %v, want ValidationException containing %q", err, tc.contains)
			}
		})
	}
	out, _ := e.svc.DescribeScalingPolicies(context.Background(), &DescribePoliciesInput{ServiceNamespace: ptr(Namespace)})
	if n := len(out["ScalingPolicies"].([]any)); n != 0 {
		t.Fatalf("refused policies stored: %d", n)
	}
}

func TestStepScalingFollowsTheAlarm(t *testing.T) {
	e := newEnv(t)
	e.targets.caps["ep/AllTraffic"].Provisioned = 2
	e.register(1, 8)
	arn, err := e.putStep("step-out", StepScalingConfig{AdjustmentType: ptr(ChangeInCapacity), Cooldown: ptr(int32(60)),
		MetricAggregationType: ptr("Maximum"),
		StepAdjustments: []StepAdjustment{
			{MetricIntervalLowerBound: ptr(0.0), MetricIntervalUpperBound: ptr(10.0), ScalingAdjustment: ptr(int32(1))},
			{MetricIntervalLowerBound: ptr(10.0), ScalingAdjustment: ptr(int32(3))},
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fire := func(values ...float64) {
		t.Helper()
		if err := e.svc.ExecutePolicy(ctx, arn, AlarmTrigger{AlarmName: "inv-high", State: "ALARM", Threshold: 5, Values: values, At: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	fire(8, 6) // Maximum 8: breach 3 → +1
	if got := e.targets.pc("ep/AllTraffic"); got != 3 {
		t.Fatalf("pc %d, want 3", got)
	}
	acts := e.activities()
	if len(acts) != 1 || acts[0].Cause != "monitor alarm inv-high in state ALARM triggered policy step-out" ||
		acts[0].Description != "Setting desired provisioned concurrency to 3." {
		t.Fatalf("activities %+v", acts)
	}
	e.clock.Advance(10 * time.Second)
	fire(8) // the same step during the cooldown: counted from 2, so nothing more
	if got := e.targets.pc("ep/AllTraffic"); got != 3 {
		t.Fatalf("scaled again during the cooldown: pc %d", got)
	}
	fire(math.NaN(), 20) // a larger step during the cooldown: 2 + 3 = 5, adding 2
	if got := e.targets.pc("ep/AllTraffic"); got != 5 {
		t.Fatalf("larger step in cooldown: pc %d, want 5", got)
	}
	e.clock.Advance(61 * time.Second)
	fire(20) // cooldown over: 5 + 3 = 8, the max
	fire(20)
	if got := e.targets.pc("ep/AllTraffic"); got != 8 {
		t.Fatalf("after cooldown: pc %d, want the max 8", got)
	}
	// Another alarm state does nothing.
	if err := e.svc.ExecutePolicy(ctx, arn, AlarmTrigger{AlarmName: "inv-high", State: "OK", Threshold: 5, Values: []float64{0}, At: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ExecutePolicy(ctx, "arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:x:resource/sagemaker/endpoint/ep/variant/AllTraffic:policyName/none", AlarmTrigger{State: "ALARM"}); err == nil {
		t.Fatal("an unknown policy ARN ran")
	}
}

func TestStepScaleInWaitsForCooldownAndPercentChange(t *testing.T) {
	e := newEnv(t)
	e.targets.caps["ep/AllTraffic"].Provisioned = 8
	e.register(2, 8)
	arn, err := e.putStep("step-in", StepScalingConfig{AdjustmentType: ptr(PercentChangeInCapacity), Cooldown: ptr(int32(30)), MinAdjustmentMagnitude: ptr(int32(2)),
		StepAdjustments: []StepAdjustment{{MetricIntervalUpperBound: ptr(0.0), ScalingAdjustment: ptr(int32(-10))}}})
	if err != nil {
		t.Fatal(err)
	}
	fire := func() {
		t.Helper()
		if err := e.svc.ExecutePolicy(context.Background(), arn, AlarmTrigger{AlarmName: "idle", State: "ALARM", Threshold: 1, Values: []float64{0, 0}, At: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	fire() // -10 % of 8 is -0.8 → -1, raised to the minimum magnitude 2
	if got := e.targets.pc("ep/AllTraffic"); got != 6 {
		t.Fatalf("pc %d, want 6", got)
	}
	e.clock.Advance(29 * time.Second)
	fire()
	if got := e.targets.pc("ep/AllTraffic"); got != 6 {
		t.Fatalf("scaled in during the cooldown: pc %d", got)
	}
	e.clock.Advance(time.Second)
	fire()
	e.clock.Advance(30 * time.Second)
	fire()
	e.clock.Advance(30 * time.Second)
	fire() // at the minimum
	if got := e.targets.pc("ep/AllTraffic"); got != 2 {
		t.Fatalf("pc %d, want the minimum 2", got)
	}
	out, err := e.svc.DescribeScalingActivities(context.Background(), &DescribeActivitiesInput{ServiceNamespace: ptr(Namespace), IncludeNotScaledActivities: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	a := out["ScalingActivities"].([]any)[0].(ScalingActivity)
	if len(a.NotScaledReasons) != 1 || a.NotScaledReasons[0].Code != "AlreadyAtMinCapacity" {
		t.Fatalf("newest activity %+v, want AlreadyAtMinCapacity", a)
	}
}
