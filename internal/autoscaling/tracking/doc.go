// Package tracking decides target-tracking scaling the way Application Auto
// Scaling does, as a pure function of a policy, its metric datapoints, a
// small persisted State, the scalable target and the current instant.
//
// Application Auto Scaling drives a target-tracking policy with two
// CloudWatch alarms on the policy's metric:
//
//   - AlarmHigh: 3 consecutive period datapoints greater than TargetValue;
//   - AlarmLow: 15 consecutive period datapoints less than 0.9 × TargetValue.
//
// A period without a datapoint breaks a streak (the alarm has insufficient
// data and nothing scales). While an alarm is in ALARM the policy is invoked
// again every period, so a load that keeps rising keeps adding capacity.
//
// The new capacity is proportional: ceil(current × metric ÷ target), using
// the latest datapoint, clamped to [min, max]. See Decide for the rounding,
// cooldown, suspension and multi-policy rules.
//
// Decide reads no clock and starts no goroutine. The scaling loop calls it
// once per metric period (more often is harmless: a period's data is acted
// on at most once), applies a Decision whose Scale is true, and persists the
// returned State with the scalable target:
//
//	d, st := tracking.Decide(policy, window, st, target, now)
//	if d.Scale {
//		// set capacity to d.Desired; the Cause names d.Alarm
//	}
package tracking
