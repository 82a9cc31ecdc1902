// Package schedule parses and evaluates the schedule expressions of
// Application Auto Scaling scheduled actions: at(), rate() and the six-field
// EventBridge cron().
//
// It is pure and clock-free: every question takes the instant it is asked
// about. Parse turns an expression into a Schedule; Schedule.Next finds the
// next fire of an at() or cron() in a time zone; Action adds the StartTime,
// EndTime and creation time of a scheduled action and answers the one
// question the scaling loop asks on every tick:
//
//	a := schedule.Action{Schedule: s, Location: loc, Start: start, End: end, Created: created}
//	if fire, ok := a.Due(lastFired, now); ok {
//		// apply the action's capacity bounds, then persist fire as lastFired
//	}
//	wake, more := a.Next(now) // when to look again
//
// Fire times are found by jumping from field to field (year, month, day,
// hour, minute), never by scanning minute by minute, so a sparse expression
// such as cron(0 0 29 2 ? *) costs a handful of steps.
//
// Daylight saving time follows EventBridge Scheduler's documented behaviour:
// a cron wall time that does not exist on a spring-forward day is skipped,
// and one that happens twice on a fall-back day fires once, at its first
// occurrence. See Schedule.Next.
package schedule
