package tracking

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// AWS's constants for target tracking.
const (
	// DefaultCooldown is Application Auto Scaling's default scale-in and
	// scale-out cooldown for SageMaker endpoint variants. The API layer
	// applies it when a policy omits a cooldown; a zero cooldown in a
	// Policy means none.
	DefaultCooldown = 300 * time.Second
	// DefaultPeriod is the alarms' metric period on AWS.
	DefaultPeriod = 60 * time.Second
	// HighDatapoints is how many consecutive periods above the target put
	// AlarmHigh in ALARM.
	HighDatapoints = 3
	// LowDatapoints is how many consecutive periods below LowFactor × the
	// target put AlarmLow in ALARM.
	LowDatapoints = 15
	// LowFactor scales the target into AlarmLow's threshold.
	LowFactor = 0.9

	// MinTargetValue and MaxTargetValue bound TargetValue, as the
	// Application Auto Scaling API does.
	MinTargetValue = 8.515920e-109
	MaxTargetValue = 1.174271e+108
)

// Policy is a target-tracking scaling policy's configuration.
type Policy struct {
	TargetValue      float64
	ScaleOutCooldown time.Duration // zero: none
	ScaleInCooldown  time.Duration // zero: none
	DisableScaleIn   bool
	// Period is the metric period the alarms evaluate; zero means
	// DefaultPeriod (AWS timing). Shorter periods speed up tests and demos.
	Period time.Duration
}

func (p Policy) period() time.Duration {
	if p.Period <= 0 {
		return DefaultPeriod
	}
	return p.Period
}

// ErrInvalidPolicy is matched by the errors Validate returns.
var ErrInvalidPolicy = errors.New("invalid target tracking policy")

// Validate checks the policy's values; errors match ErrInvalidPolicy.
func (p Policy) Validate() error {
	switch {
	case math.IsNaN(p.TargetValue) || p.TargetValue < MinTargetValue || p.TargetValue > MaxTargetValue:
		return fmt.Errorf("%w: TargetValue %g is out of range %g to %g",
			ErrInvalidPolicy, p.TargetValue, MinTargetValue, MaxTargetValue)
	case p.ScaleOutCooldown < 0:
		return fmt.Errorf("%w: ScaleOutCooldown %s is negative", ErrInvalidPolicy, p.ScaleOutCooldown)
	case p.ScaleInCooldown < 0:
		return fmt.Errorf("%w: ScaleInCooldown %s is negative", ErrInvalidPolicy, p.ScaleInCooldown)
	case p.Period < 0:
		return fmt.Errorf("%w: Period %s is negative", ErrInvalidPolicy, p.Period)
	}
	return nil
}

// Datapoint is one period's value of the policy's metric (already
// aggregated with the alarm's statistic). Timestamp is any instant within
// the period, normally its start; periods are aligned as time.Truncate
// aligns them. NaN values count as missing.
type Datapoint struct {
	Timestamp time.Time
	Value     float64
}

// Alarm names one of a policy's two alarms.
type Alarm int

// The alarms of a target-tracking policy.
const (
	AlarmNone Alarm = iota // neither alarm is in ALARM
	AlarmHigh              // the scale-out alarm
	AlarmLow               // the scale-in alarm
)

// String returns "AlarmHigh" or "AlarmLow", the words Application Auto
// Scaling puts in the alarms' names, or "None".
func (a Alarm) String() string {
	switch a {
	case AlarmNone:
		return "None"
	case AlarmHigh:
		return "AlarmHigh"
	case AlarmLow:
		return "AlarmLow"
	}
	return "Alarm(" + strconv.Itoa(int(a)) + ")"
}

// Direction is the way a decision moves capacity.
type Direction int

// Directions.
const (
	None Direction = iota
	Out            // add capacity
	In             // remove capacity
)

func (d Direction) String() string {
	switch d {
	case None:
		return "None"
	case Out:
		return "Out"
	case In:
		return "In"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// Reason says why an alarm in ALARM did not change capacity.
type Reason string

// Reasons. The first three are Application Auto Scaling's NotScaledReason
// codes (reported with IncludeNotScaledActivities); the others are never
// reported as activities by AWS and are for logs.
const (
	ReasonAlreadyAtMaxCapacity     Reason = "AlreadyAtMaxCapacity"
	ReasonAlreadyAtMinCapacity     Reason = "AlreadyAtMinCapacity"
	ReasonAlreadyAtDesiredCapacity Reason = "AlreadyAtDesiredCapacity"
	ReasonScaleOutCooldown         Reason = "ScaleOutCooldown"
	ReasonScaleInCooldown          Reason = "ScaleInCooldown"
	ReasonScaleOutSuspended        Reason = "DynamicScalingOutSuspended"
	ReasonScaleInSuspended         Reason = "DynamicScalingInSuspended"
	ReasonScaleInDisabled          Reason = "ScaleInDisabled"
	ReasonPeriodAlreadyActedOn     Reason = "PeriodAlreadyActedOn"
)

// NotScaledCode reports whether r is one of Application Auto Scaling's
// NotScaledReason codes.
func (r Reason) NotScaledCode() bool {
	switch r {
	case ReasonAlreadyAtMaxCapacity, ReasonAlreadyAtMinCapacity, ReasonAlreadyAtDesiredCapacity:
		return true
	}
	return false
}

// Target is the scalable target as the decision sees it.
type Target struct {
	Current, Min, Max int
	// DynamicScalingOutSuspended and DynamicScalingInSuspended are the
	// target's SuspendedState flags for policy-driven scaling.
	DynamicScalingOutSuspended bool
	DynamicScalingInSuspended  bool
}

// State is what Decide remembers between calls, per scalable target. The
// zero State is the start: no cooldown running. Only policy-driven scaling
// changes it; scheduled actions and manual changes leave it alone.
type State struct {
	// ScaleOutCooldownEnd ends the cooldown started by the last
	// policy-driven scale-out; LastScaleOutCapacity is the capacity it set.
	ScaleOutCooldownEnd  time.Time
	LastScaleOutCapacity int
	// ScaleInCooldownEnd ends the cooldown started by the last
	// policy-driven scale-in.
	ScaleInCooldownEnd time.Time
	// ActedOn is the end of the newest metric period a scaling decision
	// was based on; that period's data does not scale twice.
	ActedOn time.Time
}

// Decision is the outcome of one evaluation.
type Decision struct {
	// Scale is true when capacity should be set to Desired.
	Scale bool
	// Desired is the capacity to set, or the current capacity when Scale
	// is false.
	Desired int
	// Direction is the way an alarm asked to move (also when Scale is
	// false), or None when no alarm asked.
	Direction Direction
	// Alarm is the alarm behind the decision, and Policy the index (into
	// DecideAll's inputs) of the policy it belongs to, or -1.
	Alarm  Alarm
	Policy int
	// Metric is that policy's latest datapoint, used in the calculation.
	Metric float64
	// Reason says why an alarm in ALARM did not scale; empty otherwise.
	Reason Reason
}

// Input is one policy and its metric window, for DecideAll.
type Input struct {
	Policy Policy
	Window []Datapoint
	// Alarm, when set, is which of the policy's alarms is in ALARM as
	// CloudWatch evaluated them (AlarmNone when neither); the window then
	// only supplies the latest datapoint. Unset, the alarms are evaluated
	// from the window with the same rule.
	Alarm *Alarm
}
