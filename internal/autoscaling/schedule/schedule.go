package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxLen is the longest schedule expression Application Auto Scaling
// accepts.
const MaxLen = 1600

// ErrInvalid is matched (with errors.Is) by every error Parse returns.
var ErrInvalid = errors.New("invalid schedule expression")

// ErrInvalidTimezone is matched by the errors LoadTimezone returns.
var ErrInvalidTimezone = errors.New("invalid time zone")

// SyntaxError describes what is wrong with a schedule expression. Its
// message is meant to be returned to API callers as is.
type SyntaxError struct {
	Expr  string // the expression as given
	Field string // the cron field at fault ("Hours", "Day-of-week", ...), or ""
	Msg   string // what is wrong
}

func (e *SyntaxError) Error() string {
	expr := e.Expr
	if len(expr) > 100 {
		expr = expr[:100] + "..."
	}
	if e.Field != "" {
		return fmt.Sprintf("Invalid schedule expression '%s': %s field: %s", expr, e.Field, e.Msg)
	}
	return fmt.Sprintf("Invalid schedule expression '%s': %s", expr, e.Msg)
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *SyntaxError) Is(target error) bool { return target == ErrInvalid }

// Kind is the form of a schedule expression.
type Kind int

// The three forms of schedule expression.
const (
	At   Kind = iota + 1 // at(yyyy-mm-ddThh:mm:ss): once
	Rate                 // rate(N unit): every N minutes, hours or days
	Cron                 // cron(Minutes Hours Day-of-month Month Day-of-week Year)
)

func (k Kind) String() string {
	switch k {
	case At:
		return "at"
	case Rate:
		return "rate"
	case Cron:
		return "cron"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Schedule is a parsed schedule expression. It is an immutable value; the
// zero Schedule never fires.
type Schedule struct {
	kind  Kind
	expr  string
	at    wall
	every time.Duration
	cron  *cronSpec
}

// Parse parses an Application Auto Scaling schedule expression:
//
//	at(2026-03-08T02:30:00)
//	rate(1 minute), rate(5 minutes), rate(1 hour), rate(12 hours), rate(1 day), rate(7 days)
//	cron(0/15 8-17 ? * MON-FRI *)
//
// rate() takes a positive integer and a unit that agrees with it: singular
// for 1 (minute, hour, day), plural otherwise, as EventBridge requires.
//
// cron() takes six fields with the EventBridge syntax: Minutes 0-59, Hours
// 0-23, Day-of-month 1-31, Month 1-12 or JAN-DEC, Day-of-week 1-7 or SUN-SAT
// (1 is Sunday), Year 1970-2199. Every field takes "*", lists ("1,15"),
// ranges ("MON-FRI"; ranges other than years may wrap, as in "FRI-MON") and
// increments ("0/15", "*/15", "10-50/20"). Day-of-month also takes L (last
// day), L-n (n days before the last), LW (last weekday) and nW (the weekday
// nearest day n, without leaving the month); Day-of-week also takes L
// (Saturday), nL (last weekday n of the month, so 6L is the last Friday) and
// n#k (the k-th weekday n, so 3#2 is the second Tuesday). These special forms
// stand alone in their field. Names and letters are case-insensitive.
//
// Day-of-month and Day-of-week: EventBridge wants "?" in exactly one of them.
// Application Auto Scaling's own documentation also shows "cron(30 6 * * 2 *)",
// so "*" is accepted where "?" is expected: a "*" day field restricts nothing
// and the other field alone decides (the fields combine with AND, and "*"
// matches every day, so "cron(30 6 * * 2 *)" fires on Mondays only, and with
// "*" in both every day matches). Values in both fields are rejected, as
// EventBridge rejects them, because AND and OR readings of such an expression
// disagree.
//
// Errors are *SyntaxError values matching ErrInvalid.
func Parse(expr string) (Schedule, error) {
	s := strings.TrimSpace(expr)
	fail := func(field, format string, args ...any) (Schedule, error) {
		return Schedule{}, &SyntaxError{Expr: expr, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if len(expr) > MaxLen {
		return fail("", "it is %d characters long; the limit is %d", len(expr), MaxLen)
	}
	open := strings.IndexByte(s, '(')
	if open < 0 || !strings.HasSuffix(s, ")") {
		return fail("", "expected at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)")
	}
	name, body := s[:open], s[open+1:len(s)-1]
	switch name {
	case "at":
		w, msg := parseAt(strings.TrimSpace(body))
		if msg != "" {
			return fail("", "%s", msg)
		}
		return Schedule{kind: At, expr: s, at: w}, nil
	case "rate":
		d, msg := parseRate(body)
		if msg != "" {
			return fail("", "%s", msg)
		}
		return Schedule{kind: Rate, expr: s, every: d}, nil
	case "cron":
		c, err := parseCron(body)
		if err != nil {
			return fail(err.field, "%s", err.msg)
		}
		return Schedule{kind: Cron, expr: s, cron: c}, nil
	}
	return fail("", "unknown expression type %q; expected at(...), rate(...) or cron(...)", name)
}

// parseAt parses yyyy-mm-ddThh:mm:ss and reports a message when it is wrong.
func parseAt(s string) (wall, string) {
	const layout = "yyyy-mm-ddThh:mm:ss"
	bad := fmt.Sprintf("at() needs a date and time formatted as %s, found %q", layout, s)
	if len(s) != len(layout) {
		return wall{}, bad
	}
	num := func(i, n int) int {
		if !isDigits(s[i : i+n]) {
			return -1
		}
		v, _ := strconv.Atoi(s[i : i+n])
		return v
	}
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return wall{}, bad
	}
	w := wall{num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)}
	switch {
	case w.year < 0 || w.month < 0 || w.day < 0 || w.hour < 0 || w.minute < 0 || w.second < 0:
		return wall{}, bad
	case w.month < 1 || w.month > 12:
		return wall{}, fmt.Sprintf("at(): month %02d is out of range 01-12", w.month)
	case w.day < 1 || w.day > daysIn(w.year, w.month):
		return wall{}, fmt.Sprintf("at(): %04d-%02d has no day %02d", w.year, w.month, w.day)
	case w.hour > 23:
		return wall{}, fmt.Sprintf("at(): hour %02d is out of range 00-23", w.hour)
	case w.minute > 59:
		return wall{}, fmt.Sprintf("at(): minute %02d is out of range 00-59", w.minute)
	case w.second > 59:
		return wall{}, fmt.Sprintf("at(): second %02d is out of range 00-59", w.second)
	}
	return w, ""
}

// parseRate parses "N unit" and reports a message when it is wrong.
func parseRate(body string) (time.Duration, string) {
	f := strings.Fields(body)
	if len(f) != 2 {
		return 0, "a rate expression needs a value and a unit, as in rate(5 minutes)"
	}
	units := map[string]struct {
		d        time.Duration
		singular string
		plural   bool
	}{
		"minute": {time.Minute, "minute", false}, "minutes": {time.Minute, "minute", true},
		"hour": {time.Hour, "hour", false}, "hours": {time.Hour, "hour", true},
		"day": {24 * time.Hour, "day", false}, "days": {24 * time.Hour, "day", true},
	}
	u, ok := units[strings.ToLower(f[1])]
	if !ok {
		return 0, fmt.Sprintf("unknown rate unit %q; expected minute, minutes, hour, hours, day or days", f[1])
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if !isDigits(f[0]) || (err != nil && !errors.Is(err, strconv.ErrRange)) || n < 1 {
		return 0, fmt.Sprintf("rate value %q must be a positive integer", f[0])
	}
	if err != nil || n > int64(time.Duration(1<<63-1)/u.d) {
		return 0, fmt.Sprintf("rate value %s is too large", f[0])
	}
	switch {
	case n == 1 && u.plural:
		return 0, fmt.Sprintf("the unit must be singular when the value is 1: use rate(1 %s)", u.singular)
	case n > 1 && !u.plural:
		return 0, fmt.Sprintf("the unit must be plural when the value is greater than 1: use rate(%d %ss)", n, u.singular)
	}
	return time.Duration(n) * u.d, ""
}

// Kind reports the form of the expression; 0 for the zero Schedule.
func (s Schedule) Kind() Kind { return s.kind }

// String returns the expression as parsed (without surrounding space).
func (s Schedule) String() string { return s.expr }

// Interval returns the period of a rate() schedule, and 0 for the others.
func (s Schedule) Interval() time.Duration { return s.every }

// Next returns the first fire time strictly after `after`, with the wall
// clock of an at() or cron() schedule read in loc (nil means UTC). It
// reports false when there is none: an at() time already past, or a cron()
// whose years are exhausted.
//
// A rate() schedule has no calendar of its own: Next treats `after` as its
// previous fire and returns after + interval. Use Action for a rate() that
// counts from its start or creation time.
//
// Time zones with daylight saving time are handled as EventBridge Scheduler
// documents for cron schedules: a wall time skipped when clocks spring
// forward does not fire that day (a cron at 02:30 America/New_York skips
// 2026-03-08), and a wall time that happens twice when clocks fall back fires
// once, at its first occurrence (01:30 EDT on 2026-11-01, not again at
// 01:30 EST). An at() time in a skipped hour still fires, once, as far after
// the gap as it was inside it (02:30 becomes 03:30 EDT): a one-time action is
// not silently dropped.
func (s Schedule) Next(after time.Time, loc *time.Location) (time.Time, bool) {
	loc = orUTC(loc)
	switch s.kind {
	case At:
		t, _ := resolve(s.at, loc)
		return t, t.After(after)
	case Rate:
		return after.Add(s.every), true
	case Cron:
		return s.cron.next(after, loc)
	}
	return time.Time{}, false
}

// last returns the latest fire at or before `before` of an at() or cron()
// schedule.
func (s Schedule) last(before time.Time, loc *time.Location) (time.Time, bool) {
	switch s.kind {
	case At:
		t, _ := resolve(s.at, loc)
		return t, !t.After(before)
	case Cron:
		return s.cron.prev(before, loc)
	}
	return time.Time{}, false
}

// Matches reports whether t is a fire time of an at() or cron() schedule
// read in loc (nil means UTC). It is false for rate() schedules, whose fire
// times depend on their anchor (see Action).
func (s Schedule) Matches(t time.Time, loc *time.Location) bool {
	loc = orUTC(loc)
	switch s.kind {
	case At:
		at, _ := resolve(s.at, loc)
		return at.Equal(t)
	case Cron:
		return s.cron.matches(t, loc)
	}
	return false
}

func orUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// LoadTimezone returns the location named by a scheduled action's Timezone:
// an IANA name such as "America/New_York" or "Etc/GMT+9". The empty name
// means UTC. Errors match ErrInvalidTimezone.
func LoadTimezone(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return nil, fmt.Errorf("%w: %q is not an IANA time zone name", ErrInvalidTimezone, name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not a known IANA time zone name", ErrInvalidTimezone, name)
	}
	return loc, nil
}
