package autoscaling

import (
	"encoding/json"

	"hearth/internal/awsjson"
)

// API shapes of AnyScaleFrontendService, member for member.

// SuspendedState says which kinds of scaling are suspended for a target.
type SuspendedState struct {
	DynamicScalingInSuspended  *bool `json:"DynamicScalingInSuspended,omitempty"`
	DynamicScalingOutSuspended *bool `json:"DynamicScalingOutSuspended,omitempty"`
	ScheduledScalingSuspended  *bool `json:"ScheduledScalingSuspended,omitempty"`
}

func (s *SuspendedState) in() bool {
	return s != nil && s.DynamicScalingInSuspended != nil && *s.DynamicScalingInSuspended
}
func (s *SuspendedState) out() bool {
	return s != nil && s.DynamicScalingOutSuspended != nil && *s.DynamicScalingOutSuspended
}
func (s *SuspendedState) scheduled() bool {
	return s != nil && s.ScheduledScalingSuspended != nil && *s.ScheduledScalingSuspended
}

// ScalableTarget is a registered target.
type ScalableTarget struct {
	ServiceNamespace  string            `json:"ServiceNamespace"`
	ResourceId        string            `json:"ResourceId"`
	ScalableDimension string            `json:"ScalableDimension"`
	MinCapacity       int32             `json:"MinCapacity"`
	MaxCapacity       int32             `json:"MaxCapacity"`
	RoleARN           string            `json:"RoleARN"`
	CreationTime      awsjson.Timestamp `json:"CreationTime"`
	SuspendedState    *SuspendedState   `json:"SuspendedState,omitempty"`
	ScalableTargetARN string            `json:"ScalableTargetARN"`
}

// MetricDimension is a CloudWatch dimension.
type MetricDimension struct {
	Name  *string `json:"Name"`
	Value *string `json:"Value"`
}

// PredefinedMetricSpecification names a predefined metric.
type PredefinedMetricSpecification struct {
	PredefinedMetricType *string `json:"PredefinedMetricType"`
	ResourceLabel        *string `json:"ResourceLabel,omitempty"`
}

// CustomizedMetricSpecification names any metric Hearth records.
type CustomizedMetricSpecification struct {
	MetricName *string           `json:"MetricName,omitempty"`
	Namespace  *string           `json:"Namespace,omitempty"`
	Dimensions []MetricDimension `json:"Dimensions,omitempty"`
	Statistic  *string           `json:"Statistic,omitempty"`
	Unit       *string           `json:"Unit,omitempty"`
	Metrics    json.RawMessage   `json:"Metrics,omitempty"`
}

// TargetTrackingConfig is TargetTrackingScalingPolicyConfiguration.
type TargetTrackingConfig struct {
	TargetValue                   *float64                       `json:"TargetValue"`
	PredefinedMetricSpecification *PredefinedMetricSpecification `json:"PredefinedMetricSpecification,omitempty"`
	CustomizedMetricSpecification *CustomizedMetricSpecification `json:"CustomizedMetricSpecification,omitempty"`
	ScaleOutCooldown              *int32                         `json:"ScaleOutCooldown,omitempty"`
	ScaleInCooldown               *int32                         `json:"ScaleInCooldown,omitempty"`
	DisableScaleIn                *bool                          `json:"DisableScaleIn,omitempty"`
}

// Alarm names a CloudWatch alarm a policy stands for.
type Alarm struct {
	AlarmName string `json:"AlarmName"`
	AlarmARN  string `json:"AlarmARN"`
}

// ScalingPolicy is a stored policy.
type ScalingPolicy struct {
	PolicyARN                                string                `json:"PolicyARN"`
	PolicyName                               string                `json:"PolicyName"`
	ServiceNamespace                         string                `json:"ServiceNamespace"`
	ResourceId                               string                `json:"ResourceId"`
	ScalableDimension                        string                `json:"ScalableDimension"`
	PolicyType                               string                `json:"PolicyType"`
	TargetTrackingScalingPolicyConfiguration *TargetTrackingConfig `json:"TargetTrackingScalingPolicyConfiguration,omitempty"`
	StepScalingPolicyConfiguration           *StepScalingConfig    `json:"StepScalingPolicyConfiguration,omitempty"`
	Alarms                                   []Alarm               `json:"Alarms"`
	CreationTime                             awsjson.Timestamp     `json:"CreationTime"`
}

// ScalableTargetAction is what a scheduled action sets.
type ScalableTargetAction struct {
	MinCapacity *int32 `json:"MinCapacity,omitempty"`
	MaxCapacity *int32 `json:"MaxCapacity,omitempty"`
}

// ScheduledAction is a stored scheduled action.
type ScheduledAction struct {
	ScheduledActionName  string                `json:"ScheduledActionName"`
	ScheduledActionARN   string                `json:"ScheduledActionARN"`
	ServiceNamespace     string                `json:"ServiceNamespace"`
	Schedule             string                `json:"Schedule"`
	Timezone             string                `json:"Timezone,omitempty"`
	ResourceId           string                `json:"ResourceId"`
	ScalableDimension    string                `json:"ScalableDimension"`
	StartTime            *awsjson.Timestamp    `json:"StartTime,omitempty"`
	EndTime              *awsjson.Timestamp    `json:"EndTime,omitempty"`
	ScalableTargetAction *ScalableTargetAction `json:"ScalableTargetAction,omitempty"`
	CreationTime         awsjson.Timestamp     `json:"CreationTime"`
}

// NotScaledReason says why an evaluation did not scale.
type NotScaledReason struct {
	Code            string `json:"Code"`
	MaxCapacity     *int32 `json:"MaxCapacity,omitempty"`
	MinCapacity     *int32 `json:"MinCapacity,omitempty"`
	CurrentCapacity *int32 `json:"CurrentCapacity,omitempty"`
}

// ScalingActivity is one recorded change.
type ScalingActivity struct {
	ActivityId        string             `json:"ActivityId"`
	ServiceNamespace  string             `json:"ServiceNamespace"`
	ResourceId        string             `json:"ResourceId"`
	ScalableDimension string             `json:"ScalableDimension"`
	Description       string             `json:"Description"`
	Cause             string             `json:"Cause"`
	StartTime         awsjson.Timestamp  `json:"StartTime"`
	EndTime           *awsjson.Timestamp `json:"EndTime,omitempty"`
	StatusCode        string             `json:"StatusCode"`
	StatusMessage     string             `json:"StatusMessage,omitempty"`
	Details           string             `json:"Details,omitempty"`
	NotScaledReasons  []NotScaledReason  `json:"NotScaledReasons,omitempty"`
}

// Records kept beside the API shapes.

// scheduledRecord adds the instant of the last fire performed, so each
// fire happens once, also across restarts.
type scheduledRecord struct {
	ScheduledAction
	LastFired *awsjson.Timestamp `json:"LastFired,omitempty"`
}

// policyRecord adds the tracking state (cooldown deadlines).
type policyRecord struct {
	ScalingPolicy
	State json.RawMessage `json:"State,omitempty"`
}
