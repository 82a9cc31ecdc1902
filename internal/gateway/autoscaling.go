package gateway

import "hearth/internal/autoscaling"

// AutoScalingOps is the Application Auto Scaling (AnyScaleFrontendService)
// operation table.
func AutoScalingOps(a *autoscaling.Service) map[string]operation {
	return map[string]operation{
		"RegisterScalableTarget":    op(a.RegisterScalableTarget),
		"DescribeScalableTargets":   op(a.DescribeScalableTargets),
		"DeregisterScalableTarget":  op(a.DeregisterScalableTarget),
		"PutScalingPolicy":          op(a.PutScalingPolicy),
		"DescribeScalingPolicies":   op(a.DescribeScalingPolicies),
		"DeleteScalingPolicy":       op(a.DeleteScalingPolicy),
		"PutScheduledAction":        op(a.PutScheduledAction),
		"DescribeScheduledActions":  op(a.DescribeScheduledActions),
		"DeleteScheduledAction":     op(a.DeleteScheduledAction),
		"DescribeScalingActivities": op(a.DescribeScalingActivities),
		"TagResource":               op(a.TagResource),
		"UntagResource":             op(a.UntagResource),
		"ListTagsForResource":       op(a.ListTagsForResource),
	}
}
