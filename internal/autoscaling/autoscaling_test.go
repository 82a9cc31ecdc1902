package autoscaling

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"hearth/internal/autoscaling/tracking"
	"hearth/internal/awserr"
	"hearth/internal/clock"
	"hearth/internal/store"
)

// fakeTargets is an in-memory set of endpoint variants.
type fakeTargets struct {
	mu   sync.Mutex
	caps map[string]*Capacity // by "endpoint/variant"
	sets []int
}

func (f *fakeTargets) Capacity(ctx context.Context, ep, v string) (Capacity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.caps[ep+"/"+v]
	if !ok {
		return Capacity{}, ErrNoVariant
	}
	return *c, nil
}

func (f *fakeTargets) SetCapacity(ctx context.Context, ep, v, dim string, n int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.caps[ep+"/"+v]
	if dim == DimProvisioned {
		if n > c.MaxConcurrency {
			return errors.New("over MaxConcurrency")
		}
		c.Provisioned = n
	} else {
		c.Instances = n
	}
	f.sets = append(f.sets, n)
	return nil
}

func (f *fakeTargets) pc(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.caps[key].Provisioned
}

// fakeMetrics yields one value per period from a function of the period's
// start.
type fakeMetrics struct{ value func(start time.Time) float64 }

func (m fakeMetrics) Window(ctx context.Context, q MetricQuery, period time.Duration, end time.Time, n int) ([]tracking.Datapoint, error) {
	var out []tracking.Datapoint
	for i := n; i >= 1; i-- {
		start := end.Add(-time.Duration(i) * period)
		out = append(out, tracking.Datapoint{Timestamp: start, Value: m.value(start)})
	}
	return out, nil
}

// steadyFrom is a metric with no data before from and v in every period
// since, as a policy created at from sees it.
func steadyFrom(from time.Time, v float64) fakeMetrics {
	return fakeMetrics{func(start time.Time) float64 {
		if start.Before(from) {
			return math.NaN()
		}
		return v
	}}
}

type env struct {
	t       *testing.T
	st      *store.Store
	clock   *clock.Fake
	targets *fakeTargets
	svc     *Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, clock: clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)),
		targets: &fakeTargets{caps: map[string]*Capacity{
			"ep/AllTraffic":   {Serverless: true, InService: true, Provisioned: 1, MaxConcurrency: 10},
			"inst/AllTraffic": {InService: true, Instances: 2},
		}}}
	e.svc = e.newService()
	return e
}

func (e *env) newService() *Service {
	return New(e.st, e.targets, Options{Region: "us-east-1", AccountID: "000000000000", Clock: e.clock, MetricPeriod: time.Second})
}

func ptr[T any](v T) *T { return &v }

func (e *env) register(min, max int32) {
	e.t.Helper()
	_, err := e.svc.RegisterScalableTarget(context.Background(), &RegisterInput{
		ServiceNamespace: ptr(Namespace), ResourceId: ptr("endpoint/ep/variant/AllTraffic"), ScalableDimension: ptr(DimProvisioned),
		MinCapacity: &min, MaxCapacity: &max,
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) activities() []ScalingActivity {
	e.t.Helper()
	out, err := e.svc.DescribeScalingActivities(context.Background(), &DescribeActivitiesInput{ServiceNamespace: ptr(Namespace)})
	if err != nil {
		e.t.Fatal(err)
	}
	var list []ScalingActivity
	for _, a := range out["ScalingActivities"].([]any) {
		list = append(list, a.(ScalingActivity))
	}
	return list
}

func code(err error) string {
	if e, ok := awserr.As(err); ok {
		return e.Code
	}
	return ""
}

func TestRegisterScalableTargetValidation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		in       RegisterInput
		code     string
		contains string
	}{
		{"namespace not in the enum", RegisterInput{ServiceNamespace: ptr("nope"), ResourceId: ptr("endpoint/ep/variant/AllTraffic"), ScalableDimension: ptr(DimProvisioned), MinCapacity: ptr(int32(1)), MaxCapacity: ptr(int32(2))},
			"ValidationException", "Value 'nope' at 'serviceNamespace' failed to satisfy constraint: Member must satisfy enum value set"},
		{"new target without capacities", RegisterInput{ServiceNamespace: ptr(Namespace), ResourceId: ptr("endpoint/ep/variant/AllTraffic"), ScalableDimension: ptr(DimProvisioned)},
			"ValidationException", "MinCapacity and MaxCapacity are required"},
		{"min above max", RegisterInput{ServiceNamespace: ptr(Namespace), ResourceId: ptr("endpoint/ep/variant/AllTraffic"), ScalableDimension: ptr(DimProvisioned), MinCapacity: ptr(int32(5)), MaxCapacity: ptr(int32(2))},
			"ValidationException", "Minimum capacity cannot be greater than maximum capacity"},
		{"max above MaxConcurrency", RegisterInput{ServiceNamespace: ptr(Namespace), ResourceId: ptr("endpoint/ep/variant/AllTraffic"), ScalableDimension: ptr(DimProvisioned), MinCapacity: ptr(int32(1)), MaxCapacity: ptr(int32(11))},
			"ValidationException", "MaxConcurrency (10)"},
		{"unknown variant", RegisterInput{ServiceNamespace: ptr(Namespace), ResourceId: ptr("endpoint/ep/variant/Other"), ScalableDimension: ptr(DimProvisioned), MinCapacity: ptr(int32(1)), MaxCapacity: ptr(int32(2))},
			"ValidationException", "does not exist"},
		{"malformed resource id", RegisterInput{ServiceNamespace: ptr(Namespace), ResourceId: ptr("endpoint/ep"), ScalableDimension: ptr(DimProvisioned), MinCapacity: ptr(int32(1)), MaxCapacity: ptr(int32(2))},
			"ValidationException", "endpoint/<EndpointName>/variant/<VariantName>"},
		{"provisioned concurrency of an instance variant", RegisterInput{ServiceNamespace: ptr(Namespace), ResourceId: ptr("endpoint/inst/variant/AllTraffic"), ScalableDimension: ptr(DimProvisioned), MinCapacity: ptr(int32(1)), MaxCapacity: ptr(int32(2))},
			"ValidationException", "requires a serverless variant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.RegisterScalableTarget(ctx, &tc.in)
			if code(err) != tc.code || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("err %v, want %s containing %q", err, tc.code, tc.contains)
			}
			out, _ := e.svc.DescribeScalableTargets(ctx, &DescribeTargetsInput{ServiceNamespace: ptr(Namespace)})
			if n := len(out["ScalableTargets"].([]any)); n != 0 {
				t.Fatalf("a refused registration stored %d targets", n)
			}
		})
	}
	// Policies on an unregistered target: ObjectNotFoundException.
	_, err := e.svc.PutScalingPolicy(ctx, &PutPolicyInput{PolicyName: ptr("p"), ServiceNamespace: ptr(Namespace),
		ResourceId: ptr("endpoint/ep/variant/AllTraffic"), ScalableDimension: ptr(DimProvisioned), PolicyType: ptr("TargetTrackingScaling"),
		TargetTrackingScalingPolicyConfiguration: &TargetTrackingConfig{TargetValue: ptr(0.5),
			PredefinedMetricSpecification: &PredefinedMetricSpecification{PredefinedMetricType: ptr(MetricPCUtilization)}}})
	if code(err) != "ObjectNotFoundException" {
		t.Fatalf("policy on unregistered target: %v", err)
	}
}

func (e *env) putPolicy(target float64, outCooldown, inCooldown int32) map[string]any {
	e.t.Helper()
	out, err := e.svc.PutScalingPolicy(context.Background(), &PutPolicyInput{PolicyName: ptr("pc-util"), ServiceNamespace: ptr(Namespace),
		ResourceId: ptr("endpoint/ep/variant/AllTraffic"), ScalableDimension: ptr(DimProvisioned), PolicyType: ptr("TargetTrackingScaling"),
		TargetTrackingScalingPolicyConfiguration: &TargetTrackingConfig{TargetValue: &target,
			PredefinedMetricSpecification: &PredefinedMetricSpecification{PredefinedMetricType: ptr(MetricPCUtilization)},
			ScaleOutCooldown:              &outCooldown, ScaleInCooldown: &inCooldown}})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// step advances one period and ticks.
func (e *env) step(m Metrics) {
	e.t.Helper()
	e.clock.Advance(time.Second)
	if err := e.svc.Tick(context.Background(), m, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
}

func TestTargetTrackingScalesOutOnTheThirdPeriodAbove(t *testing.T) {
	e := newEnv(t)
	e.register(1, 8)
	out := e.putPolicy(0.5, 0, 0)
	alarms := out["Alarms"].([]Alarm)
	if len(alarms) != 2 || !strings.Contains(alarms[0].AlarmName, "TargetTracking-endpoint/ep/variant/AllTraffic-AlarmHigh-") ||
		!strings.Contains(alarms[1].AlarmName, "-AlarmLow-") {
		t.Fatalf("alarms %+v", alarms)
	}
	busyFrom := e.clock.Now()
	util := steadyFrom(busyFrom, 0.9)
	e.step(util) // 1 period above target
	e.step(util) // 2
	if got := e.targets.pc("ep/AllTraffic"); got != 1 {
		t.Fatalf("scaled after 2 periods: pc %d", got)
	}
	e.step(util) // 3 → AlarmHigh: ceil(1 × 0.9 ÷ 0.5) = 2
	if got := e.targets.pc("ep/AllTraffic"); got != 2 {
		t.Fatalf("after 3 periods at 0.9 vs target 0.5: pc %d, want 2", got)
	}
	acts := e.activities()
	if len(acts) != 1 || acts[0].Description != "Setting desired provisioned concurrency to 2." ||
		!strings.HasPrefix(acts[0].Cause, "monitor alarm TargetTracking-endpoint/ep/variant/AllTraffic-AlarmHigh-") ||
		!strings.HasSuffix(acts[0].Cause, " in state ALARM triggered policy pc-util") || acts[0].StatusCode != "Successful" {
		t.Fatalf("activity %+v", acts)
	}
	// Still above target: it keeps scaling out, once per new period.
	e.step(util) // ceil(2 × 0.9 ÷ 0.5) = 4
	if got := e.targets.pc("ep/AllTraffic"); got != 4 {
		t.Fatalf("next period: pc %d, want 4", got)
	}
	e.step(util) // 8, the max
	e.step(util) // stays at max
	if got := e.targets.pc("ep/AllTraffic"); got != 8 {
		t.Fatalf("pc %d, want the max 8", got)
	}
}

func TestIdleReturnsProvisionedConcurrencyToMinimum(t *testing.T) {
	e := newEnv(t)
	e.targets.caps["ep/AllTraffic"].Provisioned = 6
	e.register(2, 8)
	e.putPolicy(0.5, 0, 0)
	from := e.clock.Now()
	idle := steadyFrom(from, 0)
	for i := 1; i < 15; i++ {
		e.step(idle)
	}
	if got := e.targets.pc("ep/AllTraffic"); got != 6 {
		t.Fatalf("scaled in after 14 idle periods: pc %d", got)
	}
	e.step(idle) // the 15th period below 90% of target
	if got := e.targets.pc("ep/AllTraffic"); got != 2 {
		t.Fatalf("after 15 idle periods: pc %d, want the minimum 2", got)
	}
}

func TestScaleInWaitsForItsCooldown(t *testing.T) {
	e := newEnv(t)
	e.targets.caps["ep/AllTraffic"].Provisioned = 8
	e.register(1, 8)
	e.putPolicy(0.5, 0, 20)
	from := e.clock.Now()
	low := steadyFrom(from, 0.2)
	for i := 0; i < 15; i++ {
		e.step(low)
	}
	if got := e.targets.pc("ep/AllTraffic"); got != 4 { // ceil(8 × 0.2 ÷ 0.5) = 4
		t.Fatalf("first scale-in: pc %d, want 4", got)
	}
	for i := 0; i < 19; i++ {
		e.step(low)
	}
	if got := e.targets.pc("ep/AllTraffic"); got != 4 {
		t.Fatalf("scaled in during the 20 s cooldown: pc %d", got)
	}
	e.step(low) // cooldown over: ceil(4 × 0.2 ÷ 0.5) = 2
	if got := e.targets.pc("ep/AllTraffic"); got != 2 {
		t.Fatalf("after cooldown: pc %d, want 2", got)
	}
}

func TestScheduledActionFiresOnceAlsoAcrossRestart(t *testing.T) {
	e := newEnv(t)
	e.register(1, 4)
	_, err := e.svc.PutScheduledAction(context.Background(), &PutScheduledInput{
		ServiceNamespace: ptr(Namespace), ResourceId: ptr("endpoint/ep/variant/AllTraffic"), ScalableDimension: ptr(DimProvisioned),
		ScheduledActionName: ptr("lunch"), Schedule: ptr("cron(15 12 * * ? *)"),
		ScalableTargetAction: &ScalableTargetAction{MinCapacity: ptr(int32(3)), MaxCapacity: ptr(int32(6))},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2026, 3, 1, 12, 14, 59, 0, time.UTC))
	e.svc.Tick(context.Background(), nil, e.clock.Now())
	if got := e.targets.pc("ep/AllTraffic"); got != 1 {
		t.Fatalf("fired early: pc %d", got)
	}
	e.clock.Advance(time.Second) // 12:15:00
	e.svc.Tick(context.Background(), nil, e.clock.Now())
	if got := e.targets.pc("ep/AllTraffic"); got != 3 {
		t.Fatalf("at 12:15: pc %d, want the new minimum 3", got)
	}
	out, _ := e.svc.DescribeScalableTargets(context.Background(), &DescribeTargetsInput{ServiceNamespace: ptr(Namespace)})
	tg := out["ScalableTargets"].([]any)[0].(ScalableTarget)
	if tg.MinCapacity != 3 || tg.MaxCapacity != 6 {
		t.Fatalf("target bounds %d..%d, want 3..6", tg.MinCapacity, tg.MaxCapacity)
	}
	acts := e.activities() // newest first
	if len(acts) != 2 || acts[1].Cause != "scheduled action name lunch was triggered" ||
		acts[1].Description != "Setting min capacity to 3 and max capacity to 6" || acts[0].Cause != "minimum capacity was set to 3" {
		t.Fatalf("activities %+v", acts)
	}
	// A restart (a new Service on the same store) does not fire it again.
	e.svc = e.newService()
	e.targets.caps["ep/AllTraffic"].Provisioned = 1 // as if changed by hand
	e.clock.Advance(30 * time.Second)
	e.svc.Tick(context.Background(), nil, e.clock.Now())
	if got := e.targets.pc("ep/AllTraffic"); got != 1 {
		t.Fatalf("fired twice: pc %d", got)
	}
	// The next day it fires again.
	e.clock.Set(time.Date(2026, 3, 2, 12, 15, 0, 0, time.UTC))
	e.svc.Tick(context.Background(), nil, e.clock.Now())
	if got := e.targets.pc("ep/AllTraffic"); got != 3 {
		t.Fatalf("next day: pc %d, want 3", got)
	}
}

func TestAlarmAtMaxCapacityIsANotScaledActivity(t *testing.T) {
	e := newEnv(t)
	e.targets.caps["ep/AllTraffic"].Provisioned = 4
	e.register(1, 4)
	e.putPolicy(0.5, 0, 0)
	from := e.clock.Now()
	busy := steadyFrom(from, 1)
	for i := 0; i < 8; i++ { // AlarmHigh from the 3rd period on, at max the whole time
		e.step(busy)
	}
	if got := e.targets.pc("ep/AllTraffic"); got != 4 {
		t.Fatalf("pc %d, want to stay at the max 4", got)
	}
	if acts := e.activities(); len(acts) != 0 {
		t.Fatalf("not-scaled activities listed without IncludeNotScaledActivities: %+v", acts)
	}
	out, err := e.svc.DescribeScalingActivities(context.Background(), &DescribeActivitiesInput{ServiceNamespace: ptr(Namespace), IncludeNotScaledActivities: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	list := out["ScalingActivities"].([]any)
	if len(list) != 1 {
		t.Fatalf("%d not-scaled activities over 6 periods at max, want 1 (recorded once)", len(list))
	}
	a := list[0].(ScalingActivity)
	if a.StatusCode != "Failed" || len(a.NotScaledReasons) != 1 || a.NotScaledReasons[0].Code != "AlreadyAtMaxCapacity" ||
		*a.NotScaledReasons[0].MaxCapacity != 4 || *a.NotScaledReasons[0].CurrentCapacity != 4 ||
		!strings.Contains(a.Cause, "-AlarmHigh-") {
		t.Fatalf("not-scaled activity %+v", a)
	}
}
