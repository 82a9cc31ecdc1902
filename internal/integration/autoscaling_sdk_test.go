package integration

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/smithy-go"
)

// TestApplicationAutoScalingAPIWithTheGoSDK drives the API with
// aws-sdk-go-v2: every operation, and AWS's errors for the common mistakes.
func TestApplicationAutoScalingAPIWithTheGoSDK(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--metric-period", "1s")
	deployEcho(t, s, "sdk-ep", 5, 2, nil)
	ctx := context.Background()
	c := aas.NewFromConfig(s.awsConfig("AKIDEXAMPLE", "secret"), func(o *aas.Options) { o.BaseEndpoint = aws.String(s.url()) })
	ns := aastypes.ServiceNamespaceSagemaker
	dim := aastypes.ScalableDimension("sagemaker:variant:DesiredProvisionedConcurrency")
	rid := aws.String("endpoint/sdk-ep/variant/AllTraffic")
	wantCode := func(err error, code, contains string) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), contains) {
			t.Fatalf("got %v, want %s containing %q", err, code, contains)
		}
	}

	_, err := c.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("p"), ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(0.5),
			PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: aastypes.MetricTypeSageMakerVariantProvisionedConcurrencyUtilization}}})
	wantCode(err, "ObjectNotFoundException", "No scalable target registered")

	_, err = c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		MinCapacity: aws.Int32(3), MaxCapacity: aws.Int32(2)})
	wantCode(err, "ValidationException", "Minimum capacity cannot be greater than maximum capacity")

	out, err := c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		MinCapacity: aws.Int32(3), MaxCapacity: aws.Int32(5)})
	if err != nil || !strings.HasPrefix(aws.ToString(out.ScalableTargetARN), "arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/") {
		t.Fatalf("register: %v %v", out, err)
	}
	// Registering a minimum above the current capacity raises it, as a
	// scaling activity that completes once the new workers serve.
	waitFor(t, "provisioned concurrency 3 after registering min 3", 20*time.Second, func() bool { return currentPC(t, s, "sdk-ep") == 3 })
	targets, err := c.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns, ResourceIds: []string{*rid}})
	if err != nil || len(targets.ScalableTargets) != 1 || aws.ToInt32(targets.ScalableTargets[0].MinCapacity) != 3 || targets.ScalableTargets[0].CreationTime == nil {
		t.Fatalf("describe targets: %+v %v", targets, err)
	}

	pol, err := c.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("p"), ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(0.5),
			PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: aastypes.MetricTypeSageMakerVariantProvisionedConcurrencyUtilization}}})
	if err != nil || len(pol.Alarms) != 2 {
		t.Fatalf("put policy: %+v %v", pol, err)
	}
	pols, err := c.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: ns, PolicyNames: []string{"p"}})
	if err != nil || len(pols.ScalingPolicies) != 1 || aws.ToString(pols.ScalingPolicies[0].PolicyARN) != aws.ToString(pol.PolicyARN) {
		t.Fatalf("describe policies: %+v %v", pols, err)
	}
	_, err = c.PutScheduledAction(ctx, &aas.PutScheduledActionInput{ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		ScheduledActionName: aws.String("bad"), Schedule: aws.String("cron(0 25 * * ? *)")})
	wantCode(err, "ValidationException", "Hours")
	_, err = c.PutScheduledAction(ctx, &aas.PutScheduledActionInput{ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		ScheduledActionName: aws.String("nightly"), Schedule: aws.String("cron(0 2 * * ? *)"), Timezone: aws.String("Europe/Berlin"),
		ScalableTargetAction: &aastypes.ScalableTargetAction{MinCapacity: aws.Int32(3), MaxCapacity: aws.Int32(4)}})
	if err != nil {
		t.Fatal(err)
	}
	acts, err := c.DescribeScheduledActions(ctx, &aas.DescribeScheduledActionsInput{ServiceNamespace: ns, ResourceId: rid})
	if err != nil || len(acts.ScheduledActions) != 1 || aws.ToString(acts.ScheduledActions[0].Timezone) != "Europe/Berlin" {
		t.Fatalf("describe scheduled actions: %+v %v", acts, err)
	}
	activities, err := c.DescribeScalingActivities(ctx, &aas.DescribeScalingActivitiesInput{ServiceNamespace: ns, ResourceId: rid})
	if err != nil || len(activities.ScalingActivities) == 0 ||
		aws.ToString(activities.ScalingActivities[0].Description) != "Setting desired provisioned concurrency to 3." ||
		activities.ScalingActivities[0].StatusCode != aastypes.ScalingActivityStatusCodeSuccessful {
		t.Fatalf("activities: %+v %v", activities, err)
	}

	if _, err := c.DeleteScalingPolicy(ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String("p"), ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteScalingPolicy(ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String("p"), ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim})
	wantCode(err, "ObjectNotFoundException", "No scaling policy found")
	if _, err := c.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim}); err != nil {
		t.Fatal(err)
	}
	acts, err = c.DescribeScheduledActions(ctx, &aas.DescribeScheduledActionsInput{ServiceNamespace: ns, ResourceId: rid})
	if err != nil || len(acts.ScheduledActions) != 0 {
		t.Fatalf("deregistering a target keeps its scheduled actions: %+v %v", acts, err)
	}
}
