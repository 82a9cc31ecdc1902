package schedule

import "time"

// Action is the timing of one scheduled action: its schedule, time zone and
// bounds. Its methods are pure; the caller keeps the last fired instant.
type Action struct {
	Schedule Schedule
	// Location reads the wall clock of at() and cron() schedules; nil
	// means UTC.
	Location *time.Location
	// Start and End bound the action; zero means unbounded. Both are
	// inclusive. A recurring (rate or cron) action with a Start fires at
	// Start itself and then on its recurrence, as Application Auto Scaling
	// documents; an at() outside [Start, End] never fires.
	Start, End time.Time
	// Created is when the action was created. Fires before it are never
	// due, and a rate() without Start counts from it: its first fire is
	// one interval after creation.
	Created time.Time
}

func (a Action) loc() *time.Location { return orUTC(a.Location) }

// Next returns the action's first fire strictly after `after`, or false when
// it will not fire again.
func (a Action) Next(after time.Time) (time.Time, bool) {
	var t time.Time
	var ok bool
	switch a.Schedule.kind {
	case At:
		t, ok = a.Schedule.Next(after, a.loc())
		ok = ok && (a.Start.IsZero() || !t.Before(a.Start))
	case Rate:
		t, ok = a.rateNext(after), true
	case Cron:
		if !a.Start.IsZero() && after.Before(a.Start) {
			t, ok = a.Start, true
		} else {
			t, ok = a.Schedule.cron.next(after, a.loc())
		}
	}
	if !ok || (!a.End.IsZero() && t.After(a.End)) {
		return time.Time{}, false
	}
	return t, true
}

// Last returns the action's latest fire at or before `before`, or false when
// it has not fired by then.
func (a Action) Last(before time.Time) (time.Time, bool) {
	if !a.End.IsZero() && a.End.Before(before) {
		before = a.End
	}
	if !a.Start.IsZero() && before.Before(a.Start) {
		return time.Time{}, false
	}
	switch a.Schedule.kind {
	case At:
		t, ok := a.Schedule.last(before, a.loc())
		if !ok || (!a.Start.IsZero() && t.Before(a.Start)) {
			return time.Time{}, false
		}
		return t, true
	case Rate:
		return a.rateLast(before)
	case Cron:
		t, ok := a.Schedule.cron.prev(before, a.loc())
		if !a.Start.IsZero() && (!ok || t.Before(a.Start)) {
			return a.Start, true
		}
		return t, ok
	}
	return time.Time{}, false
}

// Due says which fire, if any, should be performed now. lastFired is the
// instant of the last fire performed (zero if none), which the caller
// persists with the action so that each fire happens exactly once, also
// across a restart.
//
// When several fires were missed (the process was down), only the latest is
// due: a scheduled action sets capacity bounds, so replaying the older ones
// would only be overwritten. Callers with several actions on one target
// apply the due fires in order of their instants. Fires before Created are
// never due.
func (a Action) Due(lastFired, now time.Time) (time.Time, bool) {
	t, ok := a.Last(now)
	switch {
	case !ok:
		return time.Time{}, false
	case !lastFired.IsZero() && !t.After(lastFired):
		return time.Time{}, false
	case !a.Created.IsZero() && t.Before(a.Created):
		return time.Time{}, false
	}
	return t, true
}

// rateAnchor returns the instant a rate() counts from and the index of its
// first fire: Start itself fires; creation does not.
func (a Action) rateAnchor() (time.Time, int64) {
	switch {
	case !a.Start.IsZero():
		return a.Start, 0
	case !a.Created.IsZero():
		return a.Created, 1
	}
	return time.Unix(0, 0).UTC(), 1
}

func (a Action) rateNext(after time.Time) time.Time {
	anchor, k0 := a.rateAnchor()
	every := a.Schedule.every
	first := anchor.Add(time.Duration(k0) * every)
	if after.Before(first) {
		return first
	}
	k := after.Sub(anchor) / every // fires anchor+k*every <= after
	return anchor.Add(k * every).Add(every)
}

func (a Action) rateLast(before time.Time) (time.Time, bool) {
	anchor, k0 := a.rateAnchor()
	every := a.Schedule.every
	if before.Before(anchor.Add(time.Duration(k0) * every)) {
		return time.Time{}, false
	}
	k := before.Sub(anchor) / every
	return anchor.Add(k * every), true
}
