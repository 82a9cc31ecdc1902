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
