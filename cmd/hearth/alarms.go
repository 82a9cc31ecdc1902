package main

import (
	"context"
	"strings"

	"hearth/internal/autoscaling"
	"hearth/internal/cloudwatch"
)

// alarmActions runs CloudWatch alarm actions that name Application Auto
// Scaling policies; every other action is stored but not performed.
type alarmActions struct{ scaling *autoscaling.Service }

func (a alarmActions) RunAlarmAction(ctx context.Context, arn string, ev cloudwatch.AlarmEvent) error {
	if !strings.HasPrefix(arn, "arn:aws:autoscaling:") || !strings.Contains(arn, ":scalingPolicy:") {
		return cloudwatch.ErrUnsupportedAction
	}
	return a.scaling.ExecutePolicy(ctx, arn, autoscaling.AlarmTrigger{
		AlarmName: ev.AlarmName, State: string(ev.State), Threshold: ev.Threshold, Values: ev.Values, At: ev.At,
	})
}

// policyAlarms keeps target tracking policies' alarms among CloudWatch's.
type policyAlarms struct{ alarms *cloudwatch.Alarms }

func (p policyAlarms) PutAlarm(ctx context.Context, a autoscaling.PolicyAlarm) error {
	return p.alarms.PutAlarm(ctx, cloudwatch.AlarmSpec{
		Name: a.Name, Description: a.Description, Namespace: a.Metric.Namespace, MetricName: a.Metric.MetricName,
		Dimensions: a.Metric.Dimensions, Statistic: a.Metric.Statistic, Period: a.Period, EvaluationPeriods: a.EvaluationPeriods,
		Threshold: a.Threshold, Comparison: a.Comparison, AlarmActions: []string{a.PolicyARN},
	})
}

func (p policyAlarms) DeleteAlarms(ctx context.Context, names []string) error {
	return p.alarms.DeleteAlarmsNamed(ctx, names)
}

func (p policyAlarms) AlarmState(ctx context.Context, name string) (string, bool, error) {
	s, ok, err := p.alarms.State(ctx, name)
	return string(s), ok, err
}
