package autoscaling_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/smithy-go"

	"hearth/internal/autoscaling"
	"hearth/internal/clock"
	"hearth/internal/gateway"
	"hearth/internal/store"
)

// variants is an in-memory set of serverless endpoint variants.
type variants struct {
	mu   sync.Mutex
	caps map[string]*autoscaling.Capacity
}

func (v *variants) Capacity(ctx context.Context, ep, variant string) (autoscaling.Capacity, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.caps[ep+"/"+variant]
	if !ok {
		return autoscaling.Capacity{}, autoscaling.ErrNoVariant
	}
	return *c, nil
}

func (v *variants) SetCapacity(ctx context.Context, ep, variant, dim string, n int) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	c := v.caps[ep+"/"+variant]
	if dim == autoscaling.DimProvisioned {
		c.Provisioned = n
	} else {
		c.Instances = n
	}
	return nil
}

func (v *variants) provisioned(key string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.caps[key].Provisioned
}

// sdkEnv is the Application Auto Scaling API served over loopback HTTP by
// the gateway, with an aws-sdk-go-v2 client.
type sdkEnv struct {
	svc     *autoscaling.Service
	client  *aas.Client
	clock   *clock.Fake
	targets *variants
}

func newSDKEnv(t *testing.T) *sdkEnv {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &sdkEnv{clock: clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)),
		targets: &variants{caps: map[string]*autoscaling.Capacity{
			"ep/AllTraffic":  {Serverless: true, InService: true, Provisioned: 1, MaxConcurrency: 10},
			"ep2/AllTraffic": {Serverless: true, InService: true, Provisioned: 1, MaxConcurrency: 10},
		}}}
	e.svc = autoscaling.New(st, e.targets, autoscaling.Options{Region: "us-east-1", AccountID: "000000000000", Clock: e.clock, MetricPeriod: time.Second})
	srv := httptest.NewServer(gateway.New(gateway.Options{AutoScaling: gateway.AutoScalingOps(e.svc)}))
	t.Cleanup(srv.Close)
	e.client = aas.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")},
		func(o *aas.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return e
}

func wantAPIError(t *testing.T, err error, code, contains string) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), contains) {
		t.Fatalf("got %v, want %s containing %q", err, code, contains)
	}
	return ae
}

var (
	ns  = aastypes.ServiceNamespaceSagemaker
	dim = aastypes.ScalableDimension(autoscaling.DimProvisioned)
)

func TestTaggingWithTheGoSDK(t *testing.T) {
	e := newSDKEnv(t)
	ctx := context.Background()
	c := e.client
	rid := aws.String("endpoint/ep/variant/AllTraffic")

	reg, err := c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(4), Tags: map[string]string{"team": "ml", "env": "dev"}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(reg.ScalableTargetARN)
	if !strings.HasPrefix(arn, "arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/") {
		t.Fatalf("ScalableTargetARN %q", arn)
	}
	tags := func() map[string]string {
		t.Helper()
		out, err := c.ListTagsForResource(ctx, &aas.ListTagsForResourceInput{ResourceARN: &arn})
		if err != nil {
			t.Fatal(err)
		}
		return out.Tags
	}
	if got := tags(); len(got) != 2 || got["team"] != "ml" || got["env"] != "dev" {
		t.Fatalf("tags after register: %v", got)
	}
	// Updating the target keeps its tags; passing Tags on an update is refused as on AWS.
	if _, err := c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		MaxCapacity: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		MaxCapacity: aws.Int32(6), Tags: map[string]string{"x": "y"}})
	wantAPIError(t, err, "ValidationException", "use the TagResource API")
	targets, err := c.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns})
	if err != nil || len(targets.ScalableTargets) != 1 || aws.ToInt32(targets.ScalableTargets[0].MaxCapacity) != 5 ||
		aws.ToString(targets.ScalableTargets[0].ScalableTargetARN) != arn {
		t.Fatalf("a refused update changed the target: %+v %v", targets, err)
	}

	// TagResource adds and replaces; UntagResource removes, ignoring unknown keys.
	if _, err := c.TagResource(ctx, &aas.TagResourceInput{ResourceARN: &arn, Tags: map[string]string{"env": "prod", "owner": "a@b.c"}}); err != nil {
		t.Fatal(err)
	}
	if got := tags(); len(got) != 3 || got["env"] != "prod" || got["owner"] != "a@b.c" {
		t.Fatalf("tags after TagResource: %v", got)
	}
	if _, err := c.UntagResource(ctx, &aas.UntagResourceInput{ResourceARN: &arn, TagKeys: []string{"team", "nope"}}); err != nil {
		t.Fatal(err)
	}
	if got := tags(); len(got) != 2 || got["team"] != "" {
		t.Fatalf("tags after UntagResource: %v", got)
	}

	// Limits: 50 tags, key and value lengths, the aws: prefix.
	many := map[string]string{}
	for i := range 49 {
		many[fmt.Sprintf("k%02d", i)] = "v"
	}
	_, err = c.TagResource(ctx, &aas.TagResourceInput{ResourceARN: &arn, Tags: many})
	ae := wantAPIError(t, err, "TooManyTagsException", "50")
	var tm *aastypes.TooManyTagsException
	if !errors.As(ae, &tm) || aws.ToString(tm.ResourceName) != arn {
		t.Fatalf("TooManyTagsException without ResourceName: %#v", ae)
	}
	if got := tags(); len(got) != 2 {
		t.Fatalf("a refused TagResource changed the tags: %v", got)
	}
	_, err = c.TagResource(ctx, &aas.TagResourceInput{ResourceARN: &arn, Tags: map[string]string{strings.Repeat("k", 129): "v"}})
	wantAPIError(t, err, "ValidationException", "Member must have length less than or equal to 128")
	_, err = c.TagResource(ctx, &aas.TagResourceInput{ResourceARN: &arn, Tags: map[string]string{"k": strings.Repeat("v", 257)}})
	wantAPIError(t, err, "ValidationException", "Member must have length less than or equal to 256")
	_, err = c.TagResource(ctx, &aas.TagResourceInput{ResourceARN: &arn, Tags: map[string]string{"aws:cloudformation": "x"}})
	wantAPIError(t, err, "ValidationException", "reserved")
	_, err = c.TagResource(ctx, &aas.TagResourceInput{ResourceARN: &arn, Tags: map[string]string{"bad#key": "x"}})
	wantAPIError(t, err, "ValidationException", "regular expression pattern")

	// Unknown and malformed ARNs.
	other := "arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/0123456789abcdef"
	_, err = c.ListTagsForResource(ctx, &aas.ListTagsForResourceInput{ResourceARN: &other})
	ae = wantAPIError(t, err, "ResourceNotFoundException", other)
	var nf *aastypes.ResourceNotFoundException
	if !errors.As(ae, &nf) || aws.ToString(nf.ResourceName) != other {
		t.Fatalf("ResourceNotFoundException without ResourceName: %#v", ae)
	}
	_, err = c.TagResource(ctx, &aas.TagResourceInput{ResourceARN: aws.String("arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep"), Tags: map[string]string{"a": "b"}})
	wantAPIError(t, err, "ValidationException", "at 'resourceARN' failed to satisfy constraint")

	// 50 tags at registration is the most; a refused registration stores nothing.
	many["one-more"] = "x"
	many["and-another"] = "y"
	_, err = c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ResourceId: aws.String("endpoint/ep2/variant/AllTraffic"),
		ScalableDimension: dim, MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2), Tags: many})
	wantAPIError(t, err, "TooManyTagsException", "50")
	targets, err = c.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns})
	if err != nil || len(targets.ScalableTargets) != 1 {
		t.Fatalf("a registration refused for its tags stored a target: %+v %v", targets, err)
	}

	// Deregistering drops the tags with the target.
	if _, err := c.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ListTagsForResource(ctx, &aas.ListTagsForResourceInput{ResourceARN: &arn})
	wantAPIError(t, err, "ResourceNotFoundException", arn)
}

// TestSpecialFloatsWithTheGoSDK: the SDK sends NaN and the infinities as
// the JSON strings "NaN", "Infinity", "-Infinity"; TargetValue refuses
// them with a ValidationException naming the field, not a
// SerializationException.
func TestSpecialFloatsWithTheGoSDK(t *testing.T) {
	e := newSDKEnv(t)
	ctx := context.Background()
	rid := aws.String("endpoint/ep/variant/AllTraffic")
	if _, err := e.client.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		_, err := e.client.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("p"), ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
			PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
			TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(v),
				PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: aastypes.MetricTypeSageMakerVariantProvisionedConcurrencyUtilization}}})
		wantAPIError(t, err, "ValidationException", "targetTrackingScalingPolicyConfiguration.targetValue")
	}
	pols, err := e.client.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: ns})
	if err != nil || len(pols.ScalingPolicies) != 0 {
		t.Fatalf("refused policies were stored: %+v %v", pols, err)
	}
}

func TestStepScalingPolicyWithTheGoSDK(t *testing.T) {
	e := newSDKEnv(t)
	ctx := context.Background()
	rid := aws.String("endpoint/ep/variant/AllTraffic")
	if _, err := e.client.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	cfg := &aastypes.StepScalingPolicyConfiguration{AdjustmentType: aastypes.AdjustmentTypeChangeInCapacity, Cooldown: aws.Int32(60),
		MetricAggregationType: aastypes.MetricAggregationTypeMaximum,
		StepAdjustments: []aastypes.StepAdjustment{
			{MetricIntervalLowerBound: aws.Float64(0), MetricIntervalUpperBound: aws.Float64(10), ScalingAdjustment: aws.Int32(1)},
			{MetricIntervalLowerBound: aws.Float64(10), ScalingAdjustment: aws.Int32(2)},
		}}
	out, err := e.client.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("step"), ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		PolicyType: aastypes.PolicyTypeStepScaling, StepScalingPolicyConfiguration: cfg})
	if err != nil || !strings.Contains(aws.ToString(out.PolicyARN), ":policyName/step") {
		t.Fatalf("put: %+v %v", out, err)
	}
	pols, err := e.client.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: ns})
	if err != nil || len(pols.ScalingPolicies) != 1 {
		t.Fatalf("describe: %+v %v", pols, err)
	}
	got := pols.ScalingPolicies[0].StepScalingPolicyConfiguration
	if pols.ScalingPolicies[0].PolicyType != aastypes.PolicyTypeStepScaling || got == nil || got.AdjustmentType != aastypes.AdjustmentTypeChangeInCapacity ||
		len(got.StepAdjustments) != 2 || got.StepAdjustments[1].MetricIntervalUpperBound != nil || aws.ToFloat64(got.StepAdjustments[1].MetricIntervalLowerBound) != 10 ||
		got.MetricAggregationType != aastypes.MetricAggregationTypeMaximum || aws.ToInt32(got.Cooldown) != 60 {
		t.Fatalf("stored configuration %+v", got)
	}
	_, err = e.client.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("p"), ServiceNamespace: ns, ResourceId: rid, ScalableDimension: dim,
		PolicyType: aastypes.PolicyTypePredictiveScaling})
	wantAPIError(t, err, "ValidationException", "PredictiveScaling is not supported")
}

func TestPagingWithTheGoSDK(t *testing.T) {
	e := newSDKEnv(t)
	ctx := context.Background()
	for _, ep := range []string{"ep", "ep2"} {
		if _, err := e.client.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ResourceId: aws.String("endpoint/" + ep + "/variant/AllTraffic"),
			ScalableDimension: dim, MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2)}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	pages := aas.NewDescribeScalableTargetsPaginator(e.client, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns, MaxResults: aws.Int32(1)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range out.ScalableTargets {
			seen = append(seen, aws.ToString(tg.ResourceId))
		}
	}
	if len(seen) != 2 || seen[0] == seen[1] {
		t.Fatalf("pages gave %v", seen)
	}
	first, err := e.client.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns, MaxResults: aws.Int32(1)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("%+v %v", first, err)
	}
	_, err = e.client.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns, MaxResults: aws.Int32(1),
		ResourceIds: []string{"endpoint/ep/variant/AllTraffic"}, NextToken: first.NextToken})
	wantAPIError(t, err, "InvalidNextTokenException", "Invalid token")
}
