package autoscaling

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"hearth/internal/autoscaling/schedule"
	"hearth/internal/awsapi"
	"hearth/internal/awserr"
	"hearth/internal/awsjson"
	"hearth/internal/clock"
	"hearth/internal/store"
)

// Scalable dimensions and namespace Hearth scales.
const (
	Namespace                = "sagemaker"
	DimProvisioned           = "sagemaker:variant:DesiredProvisionedConcurrency"
	DimInstances             = "sagemaker:variant:DesiredInstanceCount"
	MetricPCUtilization      = "SageMakerVariantProvisionedConcurrencyUtilization"
	MetricInvocationsPerInst = "SageMakerVariantInvocationsPerInstance"
)

// Store kinds.
const (
	kindTarget   store.Kind = "scalable-target"
	kindPolicy   store.Kind = "scaling-policy"
	kindAction   store.Kind = "scheduled-action"
	kindActivity store.Kind = "scaling-activity"
)

// ErrNoVariant is returned by Targets when the endpoint or variant does not
// exist.
var ErrNoVariant = errors.New("no such endpoint variant")

// Capacity is a variant's current capacity as the autoscaler sees it.
type Capacity struct {
	Serverless     bool
	InService      bool
	Provisioned    int // serverless: provisioned concurrency
	MaxConcurrency int // serverless
	Instances      int // instance-based: instance count
}

// Of returns the capacity along dimension dim.
func (c Capacity) Of(dim string) int {
	if dim == DimProvisioned {
		return c.Provisioned
	}
	return c.Instances
}

// Targets is what the autoscaler needs of the endpoints it scales.
type Targets interface {
	Capacity(ctx context.Context, endpoint, variant string) (Capacity, error)
	// SetCapacity asks for a new capacity; it returns once accepted.
	SetCapacity(ctx context.Context, endpoint, variant, dimension string, n int) error
}

// Settler is a Targets that can say when an accepted capacity change is
// done (the new warm workers serve). A change's scaling activity stays
// InProgress until then — waited for off the service's lock, so a slow
// change never holds up the loop or the API.
type Settler interface {
	Settled(ctx context.Context, endpoint string) error
}

// Options configure a Service.
type Options struct {
	Region, AccountID string
	Clock             clock.Clock
	Logger            *slog.Logger
	// MetricPeriod is the period target tracking evaluates on (AWS: 60 s).
	MetricPeriod time.Duration
	// Alarms, when set, keeps target tracking policies' alarms in
	// CloudWatch, whose states then drive the policies.
	Alarms AlarmKeeper
}

// Service is the Application Auto Scaling API.
type Service struct {
	store   *store.Store
	targets Targets
	opts    Options
	log     *slog.Logger
	mu      sync.Mutex // serialises mutations and the loop's evaluations
	// notScaled remembers, per target, the last not-scaled situation
	// recorded, so that it is recorded once and not every period.
	notScaled map[string]string
	// settling tracks the goroutines finishing InProgress activities;
	// unsettled (guarded by mu) the targets they are for, which the loop
	// leaves alone until their change is done.
	settling  sync.WaitGroup
	unsettled map[targetID]bool
}

// Wait waits for capacity changes still settling (their activities to be
// recorded as done).
func (s *Service) Wait() { s.settling.Wait() }

// New returns a Service.
func New(st *store.Store, targets Targets, opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MetricPeriod <= 0 {
		opts.MetricPeriod = time.Minute
	}
	return &Service{store: st, targets: targets, opts: opts, log: opts.Logger, notScaled: map[string]string{}, unsettled: map[targetID]bool{}}
}

func (s *Service) now() time.Time { return s.opts.Clock.Now().UTC().Truncate(time.Millisecond) }

// exactKey keeps a case-sensitive identifier distinct under the store's
// case-insensitive keys.
func exactKey(parts ...string) string { return hex.EncodeToString([]byte(strings.Join(parts, "|"))) }

// ---- errors ----

func validation(format string, args ...any) error { return awserr.Validation(format, args...) }

func objectNotFound(format string, args ...any) error {
	return awserr.New("ObjectNotFoundException", http.StatusBadRequest, format, args...)
}

func limitExceeded(format string, args ...any) error {
	return awserr.New("LimitExceededException", http.StatusBadRequest, format, args...)
}

// ---- target identity ----

type targetID struct {
	ns, rid, dim string
}

func (t targetID) key() string { return exactKey(t.ns, t.rid, t.dim) }

var namespaces = []string{"ecs", "elasticmapreduce", "ec2", "appstream", "dynamodb", "rds", "sagemaker", "custom-resource", "comprehend", "lambda", "cassandra", "kafka", "elasticache", "neptune", "workspaces"}

var dimensions = []string{"ecs:service:DesiredCount", "ec2:spot-fleet-request:TargetCapacity", "elasticmapreduce:instancegroup:InstanceCount", "appstream:fleet:DesiredCapacity", "dynamodb:table:ReadCapacityUnits", "dynamodb:table:WriteCapacityUnits", "dynamodb:index:ReadCapacityUnits", "dynamodb:index:WriteCapacityUnits", "rds:cluster:ReadReplicaCount", "sagemaker:variant:DesiredInstanceCount", "custom-resource:ResourceType:Property", "comprehend:document-classifier-endpoint:DesiredInferenceUnits", "comprehend:entity-recognizer-endpoint:DesiredInferenceUnits", "lambda:function:ProvisionedConcurrency", "cassandra:table:ReadCapacityUnits", "cassandra:table:WriteCapacityUnits", "kafka:broker-storage:VolumeSize", "elasticache:replication-group:NodeGroups", "elasticache:replication-group:Replicas", "neptune:cluster:ReadReplicaCount", "sagemaker:variant:DesiredProvisionedConcurrency", "sagemaker:inference-component:DesiredCopyCount", "workspaces:workspacespool:DesiredUserSessions"}

func enumMsg(vals []string) string {
	return "Member must satisfy enum value set: [" + strings.Join(vals, ", ") + "]"
}

// checkTarget validates the (namespace, resource id, dimension) triple.
func checkTarget(v *awserr.Violations, ns, rid, dim *string, dimRequired bool) {
	if ns == nil {
		v.Add(nil, "serviceNamespace", "Member must not be null")
	} else if !contains(namespaces, *ns) {
		v.Add(*ns, "serviceNamespace", enumMsg(namespaces))
	}
	if rid != nil {
		if len(*rid) < 1 {
			v.Add(*rid, "resourceId", "Member must have length greater than or equal to 1")
		} else if len(*rid) > 1600 {
			v.Add(*rid, "resourceId", "Member must have length less than or equal to 1600")
		}
	}
	if dim == nil {
		if dimRequired {
			v.Add(nil, "scalableDimension", "Member must not be null")
		}
	} else if !contains(dimensions, *dim) {
		v.Add(*dim, "scalableDimension", enumMsg(dimensions))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseResourceID splits endpoint/<ep>/variant/<v>.
func parseResourceID(rid string) (endpoint, variant string, err error) {
	parts := strings.Split(rid, "/")
	if len(parts) != 4 || parts[0] != "endpoint" || parts[2] != "variant" || parts[1] == "" || parts[3] == "" {
		return "", "", validation("Unsupported resource ID %q: SageMaker scalable targets are named endpoint/<EndpointName>/variant/<VariantName>.", rid)
	}
	return parts[1], parts[3], nil
}

// supported checks the namespace and dimension are ones Hearth scales.
func supported(ns, dim string) error {
	if ns != Namespace {
		return validation("Unsupported service namespace %q: this server scales SageMaker endpoint variants (service namespace sagemaker).", ns)
	}
	if dim != DimProvisioned && dim != DimInstances {
		return validation("Unsupported scalable dimension %q for service namespace sagemaker: use %s or %s.", dim, DimProvisioned, DimInstances)
	}
	return nil
}

func (s *Service) noTarget(id targetID) error {
	return objectNotFound("No scalable target registered for service namespace: %s, resource ID: %s, scalable dimension: %s", id.ns, id.rid, id.dim)
}

func (s *Service) getTarget(tx *store.Tx, id targetID) (*ScalableTarget, error) {
	var t ScalableTarget
	if err := tx.Get(kindTarget, id.key(), &t); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, s.noTarget(id)
		}
		return nil, err
	}
	return &t, nil
}

// ---- RegisterScalableTarget ----

// RegisterInput is RegisterScalableTarget's request.
type RegisterInput struct {
	ServiceNamespace  *string           `json:"ServiceNamespace"`
	ResourceId        *string           `json:"ResourceId"`
	ScalableDimension *string           `json:"ScalableDimension"`
	MinCapacity       *int32            `json:"MinCapacity"`
	MaxCapacity       *int32            `json:"MaxCapacity"`
	RoleARN           *string           `json:"RoleARN"`
	SuspendedState    *SuspendedState   `json:"SuspendedState"`
	Tags              map[string]string `json:"Tags"`
}

// RegisterScalableTarget registers or updates a target; on update only the
// given fields change. The variant's capacity is then clamped into the
// target's [min, max], as AWS does.
func (s *Service) RegisterScalableTarget(ctx context.Context, in *RegisterInput) (map[string]string, error) {
	var v awserr.Violations
	checkTarget(&v, in.ServiceNamespace, in.ResourceId, in.ScalableDimension, true)
	if in.ResourceId == nil {
		v.Add(nil, "resourceId", "Member must not be null")
	}
	checkTags(&v, in.Tags, "tags")
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := reservedTag(in.Tags); err != nil {
		return nil, err
	}
	id := targetID{*in.ServiceNamespace, *in.ResourceId, *in.ScalableDimension}
	if err := supported(id.ns, id.dim); err != nil {
		return nil, err
	}
	ep, variant, err := parseResourceID(id.rid)
	if err != nil {
		return nil, err
	}
	for _, c := range []*int32{in.MinCapacity, in.MaxCapacity} {
		if c != nil && *c < 0 {
			return nil, validation("Minimum and maximum capacity must be non-negative.")
		}
	}
	capy, err := s.targets.Capacity(ctx, ep, variant)
	if err != nil {
		if errors.Is(err, ErrNoVariant) {
			return nil, validation("The endpoint variant %s does not exist: resource ID %s names no variant of an existing endpoint.", variant, id.rid)
		}
		return nil, err
	}
	if id.dim == DimProvisioned && !capy.Serverless {
		return nil, validation("Scalable dimension %s requires a serverless variant; %s is instance-based (use %s).", DimProvisioned, id.rid, DimInstances)
	}
	if id.dim == DimInstances && capy.Serverless {
		return nil, validation("Scalable dimension %s requires an instance-based variant; %s is serverless (use %s).", DimInstances, id.rid, DimProvisioned)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out ScalableTarget
	err = s.store.Update(ctx, func(tx *store.Tx) error {
		t, err := s.getTarget(tx, id)
		isNew := false
		if err != nil {
			if _, ok := awserr.As(err); !ok {
				return err
			}
			if in.MinCapacity == nil || in.MaxCapacity == nil {
				return validation("MinCapacity and MaxCapacity are required when registering a new scalable target.")
			}
			isNew = true
			t = &ScalableTarget{
				ServiceNamespace: id.ns, ResourceId: id.rid, ScalableDimension: id.dim,
				RoleARN:           fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint", s.opts.AccountID),
				CreationTime:      awsjson.Timestamp{Time: s.now()},
				ScalableTargetARN: fmt.Sprintf("arn:aws:application-autoscaling:%s:%s:scalable-target/%s", s.opts.Region, s.opts.AccountID, strings.ReplaceAll(uuid.NewString(), "-", "")[:32]+"abcd"),
			}
		}
		if in.MinCapacity != nil {
			t.MinCapacity = *in.MinCapacity
		}
		if in.MaxCapacity != nil {
			t.MaxCapacity = *in.MaxCapacity
		}
		if in.RoleARN != nil {
			t.RoleARN = *in.RoleARN
		}
		if in.SuspendedState != nil {
			merged := mergeSuspended(t.SuspendedState, in.SuspendedState)
			t.SuspendedState = merged
		}
		if t.MinCapacity > t.MaxCapacity {
			return validation("Minimum capacity cannot be greater than maximum capacity")
		}
		if id.dim == DimProvisioned {
			if t.MinCapacity < 1 {
				return validation("Minimum capacity for %s must be at least 1: a serverless variant's ProvisionedConcurrency is 1 to its MaxConcurrency.", DimProvisioned)
			}
			if int(t.MaxCapacity) > capy.MaxConcurrency {
				return validation("Maximum capacity %d exceeds the MaxConcurrency (%d) of variant %s: provisioned concurrency cannot exceed MaxConcurrency.", t.MaxCapacity, capy.MaxConcurrency, id.rid)
			}
		}
		if in.Tags != nil {
			if !isNew {
				return validation("The scalable target that you tried to tag already exists. To update tags on an existing scalable target, use the TagResource API.")
			}
			if len(in.Tags) > MaxTags {
				return tooManyTags(t.ScalableTargetARN)
			}
			if err := putTags(tx, t, in.Tags); err != nil {
				return err
			}
		}
		out = *t
		return tx.Put(kindTarget, id.key(), t.CreationTime.Time, t)
	})
	if err != nil {
		return nil, err
	}
	s.clampLocked(ctx, out, "")
	return map[string]string{"ScalableTargetARN": out.ScalableTargetARN}, nil
}

func mergeSuspended(old, in *SuspendedState) *SuspendedState {
	out := SuspendedState{}
	if old != nil {
		out = *old
	}
	if in.DynamicScalingInSuspended != nil {
		out.DynamicScalingInSuspended = in.DynamicScalingInSuspended
	}
	if in.DynamicScalingOutSuspended != nil {
		out.DynamicScalingOutSuspended = in.DynamicScalingOutSuspended
	}
	if in.ScheduledScalingSuspended != nil {
		out.ScheduledScalingSuspended = in.ScheduledScalingSuspended
	}
	return &out
}

// ---- DescribeScalableTargets / Deregister ----

// DescribeTargetsInput is DescribeScalableTargets' request.
type DescribeTargetsInput struct {
	ServiceNamespace  *string  `json:"ServiceNamespace"`
	ResourceIds       []string `json:"ResourceIds"`
	ScalableDimension *string  `json:"ScalableDimension"`
	MaxResults        *int32   `json:"MaxResults"`
	NextToken         *string  `json:"NextToken"`
}

// DescribeScalableTargets lists registered targets.
func (s *Service) DescribeScalableTargets(ctx context.Context, in *DescribeTargetsInput) (map[string]any, error) {
	var v awserr.Violations
	if len(in.ResourceIds) > 50 {
		v.Add(fmt.Sprintf("%d ids", len(in.ResourceIds)), "resourceIds", "Member must have length less than or equal to 50")
	}
	return describe(ctx, s, kindTarget, "ScalableTargets", &v,
		listQuery{ns: in.ServiceNamespace, dim: in.ScalableDimension, max: in.MaxResults, next: in.NextToken, filter: in.ResourceIds},
		func(t ScalableTarget) (targetID, bool) {
			return targetID{t.ServiceNamespace, t.ResourceId, t.ScalableDimension},
				len(in.ResourceIds) == 0 || contains(in.ResourceIds, t.ResourceId)
		},
		func(t ScalableTarget) any { return t })
}

// TargetInput names one target (DeregisterScalableTarget and friends).
type TargetInput struct {
	ServiceNamespace    *string `json:"ServiceNamespace"`
	ResourceId          *string `json:"ResourceId"`
	ScalableDimension   *string `json:"ScalableDimension"`
	PolicyName          *string `json:"PolicyName"`
	ScheduledActionName *string `json:"ScheduledActionName"`
}

func (in *TargetInput) id(v *awserr.Violations) targetID {
	checkTarget(v, in.ServiceNamespace, in.ResourceId, in.ScalableDimension, true)
	if in.ResourceId == nil {
		v.Add(nil, "resourceId", "Member must not be null")
	}
	if v.Len() > 0 {
		return targetID{}
	}
	return targetID{*in.ServiceNamespace, *in.ResourceId, *in.ScalableDimension}
}

// DeregisterScalableTarget removes a target with its policies and
// scheduled actions.
func (s *Service) DeregisterScalableTarget(ctx context.Context, in *TargetInput) (struct{}, error) {
	var v awserr.Violations
	id := in.id(&v)
	if err := v.Err(); err != nil {
		return struct{}{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []Alarm
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		gone = nil
		if _, err := s.getTarget(tx, id); err != nil {
			return err
		}
		if _, err := tx.Delete(kindTarget, id.key()); err != nil {
			return err
		}
		if _, err := tx.Delete(kindTags, id.key()); err != nil {
			return err
		}
		pols, err := store.ListInto[policyRecord](tx, kindPolicy)
		if err != nil {
			return err
		}
		for _, p := range pols {
			if (targetID{p.ServiceNamespace, p.ResourceId, p.ScalableDimension}) == id {
				if _, err := tx.Delete(kindPolicy, exactKey(id.ns, id.rid, id.dim, p.PolicyName)); err != nil {
					return err
				}
				gone = append(gone, p.Alarms...)
			}
		}
		acts, err := store.ListInto[scheduledRecord](tx, kindAction)
		if err != nil {
			return err
		}
		for _, a := range acts {
			if (targetID{a.ServiceNamespace, a.ResourceId, a.ScalableDimension}) == id {
				if _, err := tx.Delete(kindAction, exactKey(id.ns, id.rid, id.dim, a.ScheduledActionName)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return struct{}{}, err
	}
	s.deleteAlarms(ctx, gone)
	return struct{}{}, nil
}

// ---- paging ----

func checkPage(v *awserr.Violations, max *int32) {
	if max != nil && (*max < 1 || *max > 50) {
		if *max < 1 {
			v.Add(*max, "maxResults", "Member must have value greater than or equal to 1")
		} else {
			v.Add(*max, "maxResults", "Member must have value less than or equal to 50")
		}
	}
}

// pageOf returns the page of items token points at (the first without
// one) and the token of the next page; tokens are bound to hash, the
// listing's request.
func pageOf(items []any, max *int32, token *string, hash string) ([]any, *string, error) {
	start := 0
	if token != nil && *token != "" {
		t, ok := awsapi.DecodePageToken(*token, hash)
		if !ok || t.Offset > len(items) {
			return nil, nil, awserr.New("InvalidNextTokenException", http.StatusBadRequest, "Invalid token")
		}
		start = t.Offset
	}
	limit := 50
	if max != nil {
		limit = int(*max)
	}
	end := min(start+limit, len(items))
	out := append([]any{}, items[start:end]...)
	if end < len(items) {
		t := awsapi.PageToken{Offset: end, Hash: hash}.Encode()
		return out, &t, nil
	}
	return out, nil, nil
}

func withNext(m map[string]any, next *string) map[string]any {
	if next != nil {
		m["NextToken"] = *next
	}
	return m
}

// ---- policies ----

// PutPolicyInput is PutScalingPolicy's request.
type PutPolicyInput struct {
	PolicyName                               *string               `json:"PolicyName"`
	ServiceNamespace                         *string               `json:"ServiceNamespace"`
	ResourceId                               *string               `json:"ResourceId"`
	ScalableDimension                        *string               `json:"ScalableDimension"`
	PolicyType                               *string               `json:"PolicyType"`
	TargetTrackingScalingPolicyConfiguration *TargetTrackingConfig `json:"TargetTrackingScalingPolicyConfiguration"`
	StepScalingPolicyConfiguration           *StepScalingConfig    `json:"StepScalingPolicyConfiguration"`
	PredictiveScalingPolicyConfiguration     any                   `json:"PredictiveScalingPolicyConfiguration"`
}

var policyTypes = []string{"StepScaling", "TargetTrackingScaling", "PredictiveScaling"}

var predefinedTypes = []string{"DynamoDBReadCapacityUtilization", "DynamoDBWriteCapacityUtilization", "ALBRequestCountPerTarget", "RDSReaderAverageCPUUtilization", "RDSReaderAverageDatabaseConnections", "EC2SpotFleetRequestAverageCPUUtilization", "EC2SpotFleetRequestAverageNetworkIn", "EC2SpotFleetRequestAverageNetworkOut", "SageMakerVariantInvocationsPerInstance", "ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization", "AppStreamAverageCapacityUtilization", "ComprehendInferenceUtilization", "LambdaProvisionedConcurrencyUtilization", "CassandraReadCapacityUtilization", "CassandraWriteCapacityUtilization", "KafkaBrokerStorageUtilization", "ElastiCachePrimaryEngineCPUUtilization", "ElastiCacheReplicaEngineCPUUtilization", "ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage", "NeptuneReaderAverageCPUUtilization", "SageMakerVariantProvisionedConcurrencyUtilization", "ElastiCacheDatabaseCapacityUsageCountedForEvictPercentage", "SageMakerInferenceComponentInvocationsPerCopy", "WorkSpacesAverageUserSessionsCapacityUtilization", "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution", "SageMakerVariantConcurrentRequestsPerModelHighResolution"}

var statistics = []string{"Average", "Minimum", "Maximum", "SampleCount", "Sum"}

// PutScalingPolicy creates or replaces a target-tracking policy.
func (s *Service) PutScalingPolicy(ctx context.Context, in *PutPolicyInput) (map[string]any, error) {
	var v awserr.Violations
	if in.PolicyName == nil {
		v.Add(nil, "policyName", "Member must not be null")
	} else if n := len(*in.PolicyName); n < 1 || n > 256 {
		v.Add(*in.PolicyName, "policyName", "Member must have length less than or equal to 256")
	} else if !printable(*in.PolicyName) {
		v.Add(*in.PolicyName, "policyName", "Member must satisfy regular expression pattern: \\p{Print}+")
	}
	id := (&TargetInput{ServiceNamespace: in.ServiceNamespace, ResourceId: in.ResourceId, ScalableDimension: in.ScalableDimension}).id(&v)
	if in.PolicyType != nil && !contains(policyTypes, *in.PolicyType) {
		v.Add(*in.PolicyType, "policyType", enumMsg(policyTypes))
	}
	tt := in.TargetTrackingScalingPolicyConfiguration
	if tt != nil {
		p := "targetTrackingScalingPolicyConfiguration"
		if tt.TargetValue == nil {
			v.Add(nil, p+".targetValue", "Member must not be null")
		} else if math.IsNaN(*tt.TargetValue) || math.Abs(*tt.TargetValue) >= math.Pow(2, 360) {
			v.Add(strings.Trim(awsjson.FloatText(*tt.TargetValue), `"`), p+".targetValue", "Member must be a finite number less than 2^360 in magnitude")
		}
		if pm := tt.PredefinedMetricSpecification; pm != nil {
			if pm.PredefinedMetricType == nil {
				v.Add(nil, p+".predefinedMetricSpecification.predefinedMetricType", "Member must not be null")
			} else if !contains(predefinedTypes, *pm.PredefinedMetricType) {
				v.Add(*pm.PredefinedMetricType, p+".predefinedMetricSpecification.predefinedMetricType", enumMsg(predefinedTypes))
			}
		}
		if cm := tt.CustomizedMetricSpecification; cm != nil && cm.Statistic != nil && !contains(statistics, *cm.Statistic) {
			v.Add(*cm.Statistic, p+".customizedMetricSpecification.statistic", enumMsg(statistics))
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := supported(id.ns, id.dim); err != nil {
		return nil, err
	}
	ptype := "StepScaling"
	if in.PolicyType != nil {
		ptype = *in.PolicyType
	}
	switch ptype {
	case "StepScaling":
		if tt != nil {
			return nil, validation("TargetTrackingScalingPolicyConfiguration is not allowed for policy type StepScaling")
		}
		return s.putStepPolicy(ctx, id, *in.PolicyName, in.StepScalingPolicyConfiguration)
	case "TargetTrackingScaling":
		if in.StepScalingPolicyConfiguration != nil {
			return nil, validation("StepScalingPolicyConfiguration is not allowed for policy type TargetTrackingScaling")
		}
	default:
		return nil, validation("Policy type %s is not supported by this server: use TargetTrackingScaling or StepScaling.", ptype)
	}
	if tt == nil {
		return nil, validation("TargetTrackingScalingPolicyConfiguration is required for policy type TargetTrackingScaling")
	}
	if (tt.PredefinedMetricSpecification == nil) == (tt.CustomizedMetricSpecification == nil) {
		return nil, validation("Exactly one of PredefinedMetricSpecification or CustomizedMetricSpecification must be specified")
	}
	if pm := tt.PredefinedMetricSpecification; pm != nil {
		want := MetricPCUtilization
		if id.dim == DimInstances {
			want = MetricInvocationsPerInst
		}
		if *pm.PredefinedMetricType != want {
			return nil, validation("Predefined metric %s is not supported for scalable dimension %s: use %s.", *pm.PredefinedMetricType, id.dim, want)
		}
	}
	if cm := tt.CustomizedMetricSpecification; cm != nil {
		if len(cm.Metrics) > 0 {
			return nil, validation("Metric math (CustomizedMetricSpecification.Metrics) is not supported by this server: give MetricName, Namespace, Dimensions and Statistic.")
		}
		if cm.MetricName == nil || cm.Namespace == nil || cm.Statistic == nil {
			return nil, validation("CustomizedMetricSpecification requires MetricName, Namespace and Statistic.")
		}
	}
	for _, c := range []*int32{tt.ScaleInCooldown, tt.ScaleOutCooldown} {
		if c != nil && *c < 0 {
			return nil, validation("Cooldown must be non-negative.")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out policyRecord
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		if _, err := s.getTarget(tx, id); err != nil {
			return err
		}
		key := exactKey(id.ns, id.rid, id.dim, *in.PolicyName)
		var err error
		if out, err = s.policyToPut(tx, id, *in.PolicyName); err != nil {
			return err
		}
		if len(out.Alarms) != 2 { // new, or a step policy before
			alarm := func(kind string) Alarm {
				name := fmt.Sprintf("TargetTracking-%s-%s-%s", id.rid, kind, uuid.NewString())
				return Alarm{AlarmName: name, AlarmARN: fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", s.opts.Region, s.opts.AccountID, name)}
			}
			out.Alarms = []Alarm{alarm("AlarmHigh"), alarm("AlarmLow")}
		}
		out.PolicyName = *in.PolicyName
		out.ServiceNamespace, out.ResourceId, out.ScalableDimension = id.ns, id.rid, id.dim
		out.PolicyType = ptype
		out.TargetTrackingScalingPolicyConfiguration = tt
		out.StepScalingPolicyConfiguration = nil
		out.State = nil // a changed policy starts its evaluation afresh
		return tx.Put(kindPolicy, key, out.CreationTime.Time, out)
	})
	if err != nil {
		return nil, err
	}
	if err := s.putPolicyAlarms(ctx, &out.ScalingPolicy); err != nil {
		s.log.Warn("target tracking alarms", "policy", out.PolicyName, "err", err)
	}
	return map[string]any{"PolicyARN": out.PolicyARN, "Alarms": out.Alarms}, nil
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// count counts the records of kind belonging to target id.
func (s *Service) count(tx *store.Tx, kind store.Kind, id targetID) (int, error) {
	n := 0
	err := tx.List(kind, func(doc []byte) error {
		var r struct{ ServiceNamespace, ResourceId, ScalableDimension string }
		if err := jsonUnmarshal(doc, &r); err != nil {
			return err
		}
		if (targetID{r.ServiceNamespace, r.ResourceId, r.ScalableDimension}) == id {
			n++
		}
		return nil
	})
	return n, err
}

// DescribePoliciesInput is DescribeScalingPolicies' request.
type DescribePoliciesInput struct {
	PolicyNames       []string `json:"PolicyNames"`
	ServiceNamespace  *string  `json:"ServiceNamespace"`
	ResourceId        *string  `json:"ResourceId"`
	ScalableDimension *string  `json:"ScalableDimension"`
	MaxResults        *int32   `json:"MaxResults"`
	NextToken         *string  `json:"NextToken"`
}

// DescribeScalingPolicies lists policies.
func (s *Service) DescribeScalingPolicies(ctx context.Context, in *DescribePoliciesInput) (map[string]any, error) {
	return describe(ctx, s, kindPolicy, "ScalingPolicies", &awserr.Violations{},
		listQuery{ns: in.ServiceNamespace, rid: in.ResourceId, dim: in.ScalableDimension, max: in.MaxResults, next: in.NextToken, filter: in.PolicyNames},
		func(p policyRecord) (targetID, bool) {
			return targetID{p.ServiceNamespace, p.ResourceId, p.ScalableDimension},
				len(in.PolicyNames) == 0 || contains(in.PolicyNames, p.PolicyName)
		},
		func(p policyRecord) any { return p.ScalingPolicy })
}

// DeleteScalingPolicy deletes a policy.
func (s *Service) DeleteScalingPolicy(ctx context.Context, in *TargetInput) (struct{}, error) {
	var alarms []Alarm
	if in.PolicyName != nil && in.ServiceNamespace != nil && in.ResourceId != nil && in.ScalableDimension != nil {
		var p policyRecord
		_ = s.store.View(ctx, func(tx *store.Tx) error {
			return tx.Get(kindPolicy, exactKey(*in.ServiceNamespace, *in.ResourceId, *in.ScalableDimension, *in.PolicyName), &p)
		})
		alarms = p.Alarms
	}
	if err := s.deleteNamed(ctx, kindPolicy, in, in.PolicyName, "policyName", "scaling policy", "policy name"); err != nil {
		return struct{}{}, err
	}
	s.deleteAlarms(ctx, alarms)
	return struct{}{}, nil
}

// deleteNamed deletes the record of kind called name on in's target, or
// answers ObjectNotFoundException as AWS words it.
func (s *Service) deleteNamed(ctx context.Context, kind store.Kind, in *TargetInput, name *string, field, noun, nameLabel string) error {
	var v awserr.Violations
	if name == nil {
		v.Add(nil, field, "Member must not be null")
	}
	id := in.id(&v)
	if err := v.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.Update(ctx, func(tx *store.Tx) error {
		ok, err := tx.Delete(kind, exactKey(id.ns, id.rid, id.dim, *name))
		if err != nil {
			return err
		}
		if !ok {
			return objectNotFound("No %s found for service namespace: %s, resource ID: %s, scalable dimension: %s, %s: %s", noun, id.ns, id.rid, id.dim, nameLabel, *name)
		}
		return nil
	})
}

// ---- scheduled actions ----

// PutScheduledInput is PutScheduledAction's request.
type PutScheduledInput struct {
	ServiceNamespace     *string               `json:"ServiceNamespace"`
	Schedule             *string               `json:"Schedule"`
	Timezone             *string               `json:"Timezone"`
	ScheduledActionName  *string               `json:"ScheduledActionName"`
	ResourceId           *string               `json:"ResourceId"`
	ScalableDimension    *string               `json:"ScalableDimension"`
	StartTime            *awsjson.Timestamp    `json:"StartTime"`
	EndTime              *awsjson.Timestamp    `json:"EndTime"`
	ScalableTargetAction *ScalableTargetAction `json:"ScalableTargetAction"`
}

// PutScheduledAction creates or updates a scheduled action. As on AWS, an
// update that omits StartTime/EndTime clears them.
func (s *Service) PutScheduledAction(ctx context.Context, in *PutScheduledInput) (struct{}, error) {
	var v awserr.Violations
	if in.ScheduledActionName == nil {
		v.Add(nil, "scheduledActionName", "Member must not be null")
	} else if n := *in.ScheduledActionName; len(n) < 1 || len(n) > 256 || strings.ContainsAny(n, ":/|") || strings.TrimSpace(n) != n || !printable(n) {
		v.Add(n, "scheduledActionName", "Member must satisfy regular expression pattern: (?!((^[ ]+.*)|(.*([\\u0000-\\u001f]|[\\u007f-\\u009f]|[:/|])+.*)|(.*[ ]+$))).+")
	}
	id := (&TargetInput{ServiceNamespace: in.ServiceNamespace, ResourceId: in.ResourceId, ScalableDimension: in.ScalableDimension}).id(&v)
	if in.Schedule != nil && (len(*in.Schedule) < 1 || len(*in.Schedule) > 1600) {
		v.Add(*in.Schedule, "schedule", "Member must have length less than or equal to 1600")
	}
	if err := v.Err(); err != nil {
		return struct{}{}, err
	}
	if err := supported(id.ns, id.dim); err != nil {
		return struct{}{}, err
	}
	rec := scheduledRecord{ScheduledAction: ScheduledAction{
		ScheduledActionName: *in.ScheduledActionName, ServiceNamespace: id.ns, ResourceId: id.rid, ScalableDimension: id.dim,
		StartTime: in.StartTime, EndTime: in.EndTime, ScalableTargetAction: in.ScalableTargetAction,
	}}
	if in.Timezone != nil {
		if _, err := schedule.LoadTimezone(*in.Timezone); err != nil {
			return struct{}{}, validation("Invalid time zone %q: give an IANA time zone name such as America/New_York or Etc/GMT+9.", *in.Timezone)
		}
		rec.Timezone = *in.Timezone
	}
	if in.StartTime != nil && in.EndTime != nil && !in.StartTime.Before(in.EndTime.Time) {
		return struct{}{}, validation("The scheduled action's StartTime must be before its EndTime.")
	}
	if a := in.ScalableTargetAction; a != nil {
		if a.MinCapacity != nil && *a.MinCapacity < 0 || a.MaxCapacity != nil && *a.MaxCapacity < 0 {
			return struct{}{}, validation("Minimum and maximum capacity must be non-negative.")
		}
		if a.MinCapacity != nil && a.MaxCapacity != nil && *a.MinCapacity > *a.MaxCapacity {
			return struct{}{}, validation("Minimum capacity cannot be greater than maximum capacity")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return struct{}{}, s.store.Update(ctx, func(tx *store.Tx) error {
		if _, err := s.getTarget(tx, id); err != nil {
			return err
		}
		key := exactKey(id.ns, id.rid, id.dim, rec.ScheduledActionName)
		var old scheduledRecord
		err := tx.Get(kindAction, key, &old)
		isNew := errors.Is(err, store.ErrNotFound)
		if err != nil && !isNew {
			return err
		}
		if isNew {
			if in.Schedule == nil {
				return validation("Schedule is required when creating a scheduled action.")
			}
			n, err := s.count(tx, kindAction, id)
			if err != nil {
				return err
			}
			if n >= 200 {
				return limitExceeded("Scalable target %s already has 200 scheduled actions, the most allowed.", id.rid)
			}
			rec.ScheduledActionARN = fmt.Sprintf("arn:aws:autoscaling:%s:%s:scheduledAction:%s:resource/%s/%s:scheduledActionName/%s", s.opts.Region, s.opts.AccountID, uuid.NewString(), id.ns, id.rid, rec.ScheduledActionName)
			rec.CreationTime = awsjson.Timestamp{Time: s.now()}
		} else {
			rec.ScheduledActionARN, rec.CreationTime = old.ScheduledActionARN, old.CreationTime
			rec.LastFired = old.LastFired
			if rec.ScalableTargetAction == nil {
				rec.ScalableTargetAction = old.ScalableTargetAction
			}
			if in.Timezone == nil {
				rec.Timezone = old.Timezone
			}
		}
		if in.Schedule != nil {
			rec.Schedule = *in.Schedule
		} else {
			rec.Schedule = old.Schedule
		}
		if _, err := schedule.Parse(rec.Schedule); err != nil {
			return validation("%s", err.Error())
		}
		if !isNew && in.Schedule != nil && in.Schedule != &old.Schedule && *in.Schedule != old.Schedule {
			// A new schedule starts afresh.
			rec.LastFired = nil
			rec.CreationTime = awsjson.Timestamp{Time: s.now()}
		}
		return tx.Put(kindAction, key, rec.CreationTime.Time, rec)
	})
}

// DescribeScheduledInput is DescribeScheduledActions' request.
type DescribeScheduledInput struct {
	ScheduledActionNames []string `json:"ScheduledActionNames"`
	ServiceNamespace     *string  `json:"ServiceNamespace"`
	ResourceId           *string  `json:"ResourceId"`
	ScalableDimension    *string  `json:"ScalableDimension"`
	MaxResults           *int32   `json:"MaxResults"`
	NextToken            *string  `json:"NextToken"`
}

// DescribeScheduledActions lists scheduled actions.
func (s *Service) DescribeScheduledActions(ctx context.Context, in *DescribeScheduledInput) (map[string]any, error) {
	return describe(ctx, s, kindAction, "ScheduledActions", &awserr.Violations{},
		listQuery{ns: in.ServiceNamespace, rid: in.ResourceId, dim: in.ScalableDimension, max: in.MaxResults, next: in.NextToken, filter: in.ScheduledActionNames},
		func(a scheduledRecord) (targetID, bool) {
			return targetID{a.ServiceNamespace, a.ResourceId, a.ScalableDimension},
				len(in.ScheduledActionNames) == 0 || contains(in.ScheduledActionNames, a.ScheduledActionName)
		},
		func(a scheduledRecord) any { return a.ScheduledAction })
}

// DeleteScheduledAction deletes a scheduled action.
func (s *Service) DeleteScheduledAction(ctx context.Context, in *TargetInput) (struct{}, error) {
	return struct{}{}, s.deleteNamed(ctx, kindAction, in, in.ScheduledActionName, "scheduledActionName", "scheduled action", "scheduled action name")
}

// ---- activities ----

// DescribeActivitiesInput is DescribeScalingActivities' request.
type DescribeActivitiesInput struct {
	ServiceNamespace           *string `json:"ServiceNamespace"`
	ResourceId                 *string `json:"ResourceId"`
	ScalableDimension          *string `json:"ScalableDimension"`
	MaxResults                 *int32  `json:"MaxResults"`
	NextToken                  *string `json:"NextToken"`
	IncludeNotScaledActivities *bool   `json:"IncludeNotScaledActivities"`
}

// DescribeScalingActivities lists activities, newest first.
func (s *Service) DescribeScalingActivities(ctx context.Context, in *DescribeActivitiesInput) (map[string]any, error) {
	includeNotScaled := in.IncludeNotScaledActivities != nil && *in.IncludeNotScaledActivities
	return describeOrdered(ctx, s, kindActivity, "ScalingActivities", &awserr.Violations{},
		listQuery{ns: in.ServiceNamespace, rid: in.ResourceId, dim: in.ScalableDimension, max: in.MaxResults, next: in.NextToken, filter: includeNotScaled},
		func(a ScalingActivity) (targetID, bool) {
			return targetID{a.ServiceNamespace, a.ResourceId, a.ScalableDimension},
				len(a.NotScaledReasons) == 0 || includeNotScaled
		},
		func(a ScalingActivity) any { return a },
		func(all []ScalingActivity) {
			// Stored oldest first (activity ids are time-ordered); newest first out.
			slices.Reverse(all)
			sort.SliceStable(all, func(i, j int) bool { return all[i].StartTime.After(all[j].StartTime.Time) })
		})
}

// listQuery is what every Describe operation filters and pages by.
type listQuery struct {
	ns, rid, dim *string
	filter       any // the operation's other filters, which a page token is bound to
	max          *int32
	next         *string
}

// describe lists the records of kind in namespace q.ns — and q.rid and
// q.dim when given — that match says to keep, and pages them under key.
// v holds the operation's own validation findings so far.
func describe[T any](ctx context.Context, s *Service, kind store.Kind, key string, v *awserr.Violations, q listQuery,
	match func(T) (targetID, bool), render func(T) any) (map[string]any, error) {
	return describeOrdered(ctx, s, kind, key, v, q, match, render, nil)
}

// describeOrdered is describe with the records reordered by order (they
// come in creation order).
func describeOrdered[T any](ctx context.Context, s *Service, kind store.Kind, key string, v *awserr.Violations, q listQuery,
	match func(T) (targetID, bool), render func(T) any, order func([]T)) (map[string]any, error) {
	checkTarget(v, q.ns, q.rid, q.dim, false)
	checkPage(v, q.max)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var all []T
	if err := s.store.View(ctx, func(tx *store.Tx) (err error) {
		all, err = store.ListInto[T](tx, kind)
		return err
	}); err != nil {
		return nil, err
	}
	if order != nil {
		order(all)
	}
	var kept []any
	for _, r := range all {
		id, ok := match(r)
		if !ok || id.ns != *q.ns || (q.rid != nil && id.rid != *q.rid) || (q.dim != nil && id.dim != *q.dim) {
			continue
		}
		kept = append(kept, render(r))
	}
	items, next, err := pageOf(kept, q.max, q.next, awsapi.RequestHash(key, q.ns, q.rid, q.dim, q.filter))
	if err != nil {
		return nil, err
	}
	return withNext(map[string]any{key: items}, next), nil
}

// policyToPut returns the stored policy name of target id, or — if there
// is none — a new one with its ARN and creation time, refused with
// LimitExceededException once the target has 50 policies. PutScalingPolicy
// of either type then fills in the rest.
func (s *Service) policyToPut(tx *store.Tx, id targetID, name string) (p policyRecord, err error) {
	err = tx.Get(kindPolicy, exactKey(id.ns, id.rid, id.dim, name), &p)
	switch {
	case err == nil:
		return p, nil
	case !errors.Is(err, store.ErrNotFound):
		return p, err
	}
	n, err := s.count(tx, kindPolicy, id)
	if err != nil {
		return p, err
	}
	if n >= 50 {
		return p, limitExceeded("Scalable target %s already has 50 scaling policies, the most allowed.", id.rid)
	}
	p.PolicyARN = fmt.Sprintf("arn:aws:autoscaling:%s:%s:scalingPolicy:%s:resource/%s/%s:policyName/%s", s.opts.Region, s.opts.AccountID, uuid.NewString(), id.ns, id.rid, name)
	p.CreationTime = awsjson.Timestamp{Time: s.now()}
	return p, nil
}
