package autoscaling

import (
	"context"
	"fmt"
	"strings"
	"time"

	"hearth/internal/autoscaling/tracking"
)

// Target tracking policies stand for two CloudWatch alarms, as on AWS:
// AlarmHigh (3 periods above the target) and AlarmLow (15 periods below
// 90 % of it). With an AlarmKeeper they are real alarms — listed by
// DescribeAlarms, evaluated by CloudWatch — and their states drive the
// policy's decisions.

// PolicyAlarm is one alarm of a target tracking policy.
type PolicyAlarm struct {
	Name, Description string
	Metric            MetricQuery
	Period            time.Duration
	EvaluationPeriods int
	Threshold         float64
	// Comparison is a CloudWatch ComparisonOperator.
	Comparison string
	PolicyARN  string
}

// AlarmKeeper keeps the alarms of target tracking policies.
type AlarmKeeper interface {
	PutAlarm(ctx context.Context, a PolicyAlarm) error
	DeleteAlarms(ctx context.Context, names []string) error
	// AlarmState returns "OK", "ALARM" or "INSUFFICIENT_DATA"; ok is false
	// when there is no such alarm.
	AlarmState(ctx context.Context, name string) (state string, ok bool, err error)
}

// policyAlarms returns the two alarms p stands for.
func (s *Service) policyAlarms(p *ScalingPolicy) []PolicyAlarm {
	tt := p.TargetTrackingScalingPolicyConfiguration
	if tt == nil || len(p.Alarms) != 2 {
		return nil
	}
	ep, variant, err := parseResourceID(p.ResourceId)
	if err != nil {
		return nil
	}
	m := metricFor(p, ep, variant)
	desc := "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy " + p.PolicyARN + "."
	return []PolicyAlarm{
		{Name: p.Alarms[0].AlarmName, Description: desc, Metric: m, Period: s.opts.MetricPeriod, EvaluationPeriods: tracking.HighDatapoints,
			Threshold: *tt.TargetValue, Comparison: "GreaterThanThreshold", PolicyARN: p.PolicyARN},
		{Name: p.Alarms[1].AlarmName, Description: desc, Metric: m, Period: s.opts.MetricPeriod, EvaluationPeriods: tracking.LowDatapoints,
			Threshold: tracking.LowFactor * *tt.TargetValue, Comparison: "LessThanThreshold", PolicyARN: p.PolicyARN},
	}
}

// putPolicyAlarms creates or updates p's alarms.
func (s *Service) putPolicyAlarms(ctx context.Context, p *ScalingPolicy) error {
	if s.opts.Alarms == nil {
		return nil
	}
	for _, a := range s.policyAlarms(p) {
		if err := s.opts.Alarms.PutAlarm(ctx, a); err != nil {
			return fmt.Errorf("alarm %s: %w", a.Name, err)
		}
	}
	return nil
}

// deleteAlarms deletes alarms that policies no longer stand for.
func (s *Service) deleteAlarms(ctx context.Context, alarms []Alarm) {
	if s.opts.Alarms == nil || len(alarms) == 0 {
		return
	}
	names := make([]string, len(alarms))
	for i, a := range alarms {
		names[i] = a.AlarmName
	}
	if err := s.opts.Alarms.DeleteAlarms(ctx, names); err != nil {
		s.log.Warn("delete target tracking alarms", "alarms", names, "err", err)
	}
}

// activeAlarm asks CloudWatch which of p's alarms is in ALARM. ok is false
// when the alarms cannot say (no keeper, or missing alarms, which are
// recreated for the next period).
func (s *Service) activeAlarm(ctx context.Context, p *ScalingPolicy) (tracking.Alarm, bool) {
	if s.opts.Alarms == nil || len(p.Alarms) != 2 {
		return tracking.AlarmNone, false
	}
	active := tracking.AlarmNone
	for i, kind := range []tracking.Alarm{tracking.AlarmHigh, tracking.AlarmLow} {
		st, ok, err := s.opts.Alarms.AlarmState(ctx, p.Alarms[i].AlarmName)
		if err != nil {
			return tracking.AlarmNone, false
		}
		if !ok {
			if err := s.putPolicyAlarms(ctx, p); err != nil {
				s.log.Warn("recreate target tracking alarms", "policy", p.PolicyName, "err", err)
			}
			return tracking.AlarmNone, false
		}
		if strings.EqualFold(st, "ALARM") && active == tracking.AlarmNone {
			active = kind
		}
	}
	return active, true
}
