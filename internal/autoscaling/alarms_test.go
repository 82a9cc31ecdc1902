package autoscaling

import (
	"context"
	"strings"
	"sync"
	"testing"
)

// mapAlarms is an AlarmKeeper over a map, whose states the test sets.
type mapAlarms struct {
	mu     sync.Mutex
	alarms map[string]PolicyAlarm
	states map[string]string
}

func (m *mapAlarms) PutAlarm(ctx context.Context, a PolicyAlarm) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.alarms[a.Name] = a
	if m.states[a.Name] == "" {
		m.states[a.Name] = "INSUFFICIENT_DATA"
	}
	return nil
}

func (m *mapAlarms) DeleteAlarms(ctx context.Context, names []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range names {
		delete(m.alarms, n)
		delete(m.states, n)
	}
	return nil
}

func (m *mapAlarms) AlarmState(ctx context.Context, name string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.alarms[name]
	return m.states[name], ok, nil
}

func (m *mapAlarms) set(prefix, state string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for n := range m.alarms {
		if strings.Contains(n, prefix) {
			m.states[n] = state
		}
	}
}

func TestTargetTrackingFollowsItsAlarms(t *testing.T) {
	e := newEnv(t)
	keeper := &mapAlarms{alarms: map[string]PolicyAlarm{}, states: map[string]string{}}
	e.svc = New(e.st, e.targets, Options{Region: "us-east-1", AccountID: "000000000000", Clock: e.clock, MetricPeriod: e.svc.opts.MetricPeriod, Alarms: keeper})
	e.register(1, 8)
	out := e.putPolicy(0.5, 0, 0)
	alarms := out["Alarms"].([]Alarm)
	high, low := keeper.alarms[alarms[0].AlarmName], keeper.alarms[alarms[1].AlarmName]
	if high.Threshold != 0.5 || high.Comparison != "GreaterThanThreshold" || high.EvaluationPeriods != 3 ||
		low.Threshold != 0.45 || low.Comparison != "LessThanThreshold" || low.EvaluationPeriods != 15 ||
		high.Metric.MetricName != "ServerlessProvisionedConcurrencyUtilization" || high.Metric.Statistic != "Average" ||
		high.Metric.Dimensions["EndpointName"] != "ep" || high.PolicyARN != out["PolicyARN"] {
		t.Fatalf("alarms %+v / %+v", high, low)
	}
	busy := steadyFrom(e.clock.Now(), 0.9)
	for range 4 { // the metric is above target, but AlarmHigh is not in ALARM
		e.step(busy)
	}
	if got := e.targets.pc("ep/AllTraffic"); got != 1 {
		t.Fatalf("scaled without its alarm: pc %d", got)
	}
	keeper.set("-AlarmHigh-", "ALARM")
	e.step(busy) // ceil(1 × 0.9 ÷ 0.5) = 2
	if got := e.targets.pc("ep/AllTraffic"); got != 2 {
		t.Fatalf("AlarmHigh in ALARM: pc %d, want 2", got)
	}
	if acts := e.activities(); len(acts) != 1 || !strings.Contains(acts[0].Cause, alarms[0].AlarmName) {
		t.Fatalf("activities %+v", acts)
	}
	// Deleting the policy deletes its alarms.
	if _, err := e.svc.DeleteScalingPolicy(context.Background(), &TargetInput{PolicyName: ptr("pc-util"), ServiceNamespace: ptr(Namespace),
		ResourceId: ptr("endpoint/ep/variant/AllTraffic"), ScalableDimension: ptr(DimProvisioned)}); err != nil {
		t.Fatal(err)
	}
	if len(keeper.alarms) != 0 {
		t.Fatalf("alarms left after the policy: %v", keeper.alarms)
	}
}
