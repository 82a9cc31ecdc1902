package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// TestAlarmOnInvocationsDrivesAStepPolicy: a CloudWatch alarm on the
// endpoint's Invocations, whose action is a step scaling policy, raises
// provisioned concurrency when traffic arrives — through a real server,
// with 1-second metric periods.
func TestAlarmOnInvocationsDrivesAStepPolicy(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--metric-period", "1s")
	deployEcho(t, s, "alarm-ep", 5, 1, nil)
	ctx := context.Background()
	cfg := s.awsConfig("AKIDEXAMPLE", "secret")
	as := aas.NewFromConfig(cfg, func(o *aas.Options) { o.BaseEndpoint = aws.String(s.url()) })
	cw := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(s.url()) })
	ns, dim, rid := aastypes.ServiceNamespaceSagemaker, aastypes.ScalableDimension("sagemaker:variant:DesiredProvisionedConcurrency"), aws.String("endpoint/alarm-ep/variant/AllTraffic")

	if _, err := as.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	pol, err := as.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("step-out"), ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		PolicyType: aastypes.PolicyTypeStepScaling, StepScalingPolicyConfiguration: &aastypes.StepScalingPolicyConfiguration{
			AdjustmentType: aastypes.AdjustmentTypeChangeInCapacity, Cooldown: aws.Int32(600),
			StepAdjustments: []aastypes.StepAdjustment{{MetricIntervalLowerBound: aws.Float64(0), ScalingAdjustment: aws.Int32(1)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("invocations-high"),
		Namespace: aws.String("AWS/SageMaker"), MetricName: aws.String("Invocations"), Statistic: cwtypes.StatisticSum,
		Dimensions: []cwtypes.Dimension{{Name: aws.String("EndpointName"), Value: aws.String("alarm-ep")}, {Name: aws.String("VariantName"), Value: aws.String("AllTraffic")}},
		Period:     aws.Int32(1), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(0), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
		AlarmActions: []string{aws.ToString(pol.PolicyARN)}}); err != nil {
		t.Fatal(err)
	}

	rt := s.runtime()
	deadline := time.Now().Add(30 * time.Second)
	for currentPC(t, s, "alarm-ep") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("provisioned concurrency did not rise within 30 s of traffic")
		}
		invokeEcho(t, rt, "alarm-ep", "x")
		time.Sleep(100 * time.Millisecond)
	}
	acts, err := as.DescribeScalingActivities(ctx, &aas.DescribeScalingActivitiesInput{ServiceNamespace: ns, ResourceId: rid})
	if err != nil || len(acts.ScalingActivities) == 0 {
		t.Fatalf("activities %+v %v", acts, err)
	}
	a := acts.ScalingActivities[0]
	if aws.ToString(a.Cause) != "monitor alarm invocations-high in state ALARM triggered policy step-out" ||
		aws.ToString(a.Description) != "Setting desired provisioned concurrency to 2." || a.StatusCode != aastypes.ScalingActivityStatusCodeSuccessful {
		t.Fatalf("activity %+v", a)
	}
	hist, err := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("invocations-high"), HistoryItemType: cwtypes.HistoryItemTypeAction})
	if err != nil || len(hist.AlarmHistoryItems) == 0 || !strings.Contains(aws.ToString(hist.AlarmHistoryItems[0].HistorySummary), "Successfully executed action "+aws.ToString(pol.PolicyARN)) {
		t.Fatalf("alarm history %+v %v", hist, err)
	}
}

// TestTargetTrackingAlarmsAreCloudWatchAlarms: the two alarms a target
// tracking policy reports exist in DescribeAlarms, with AWS's thresholds
// and periods, and go with the policy.
func TestTargetTrackingAlarmsAreCloudWatchAlarms(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--metric-period", "1s")
	deployEcho(t, s, "tt-ep", 5, 1, nil)
	ctx := context.Background()
	cfg := s.awsConfig("AKIDEXAMPLE", "secret")
	as := aas.NewFromConfig(cfg, func(o *aas.Options) { o.BaseEndpoint = aws.String(s.url()) })
	cw := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(s.url()) })
	ns, dim, rid := aastypes.ServiceNamespaceSagemaker, aastypes.ScalableDimension("sagemaker:variant:DesiredProvisionedConcurrency"), aws.String("endpoint/tt-ep/variant/AllTraffic")
	if _, err := as.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	pol, err := as.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("tt"), ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(0.7),
			PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: aastypes.MetricTypeSageMakerVariantProvisionedConcurrencyUtilization}}})
	if err != nil || len(pol.Alarms) != 2 {
		t.Fatalf("put policy: %+v %v", pol, err)
	}
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("TargetTracking-endpoint/tt-ep/variant/AllTraffic-")})
	if err != nil || len(out.MetricAlarms) != 2 {
		t.Fatalf("describe alarms: %+v %v", out, err)
	}
	byName := map[string]cwtypes.MetricAlarm{}
	for _, a := range out.MetricAlarms {
		byName[aws.ToString(a.AlarmName)] = a
	}
	high, low := byName[aws.ToString(pol.Alarms[0].AlarmName)], byName[aws.ToString(pol.Alarms[1].AlarmName)]
	if aws.ToString(high.AlarmArn) != aws.ToString(pol.Alarms[0].AlarmARN) || aws.ToFloat64(high.Threshold) != 0.7 ||
		aws.ToInt32(high.EvaluationPeriods) != 3 || high.ComparisonOperator != cwtypes.ComparisonOperatorGreaterThanThreshold ||
		aws.ToString(high.MetricName) != "ServerlessProvisionedConcurrencyUtilization" || aws.ToInt32(high.Period) != 1 ||
		len(high.AlarmActions) != 1 || high.AlarmActions[0] != aws.ToString(pol.PolicyARN) {
		t.Fatalf("AlarmHigh %+v", high)
	}
	if aws.ToInt32(low.EvaluationPeriods) != 15 || low.ComparisonOperator != cwtypes.ComparisonOperatorLessThanThreshold ||
		aws.ToFloat64(low.Threshold) < 0.6299 || aws.ToFloat64(low.Threshold) > 0.6301 {
		t.Fatalf("AlarmLow %+v", low)
	}
	if _, err := as.DeleteScalingPolicy(ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String("tt"), ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim}); err != nil {
		t.Fatal(err)
	}
	out, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	if err != nil || len(out.MetricAlarms) != 0 {
		t.Fatalf("alarms after deleting the policy: %+v %v", out, err)
	}
}
