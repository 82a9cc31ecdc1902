package schedule

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestActionNext(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		name   string
		action Action
		after  string
		want   string // "" for none
	}{
		{"rate fires at Start first", Action{Schedule: mustParse(t, "rate(5 minutes)"),
			Start: mustTime(t, "2026-01-15T10:00:00Z")}, "2026-01-15T09:00:00Z", "2026-01-15T10:00:00Z"},
		{"rate counts from Start", Action{Schedule: mustParse(t, "rate(5 minutes)"),
			Start: mustTime(t, "2026-01-15T10:00:00Z")}, "2026-01-15T10:00:00Z", "2026-01-15T10:05:00Z"},
		{"rate between fires", Action{Schedule: mustParse(t, "rate(5 minutes)"),
			Start: mustTime(t, "2026-01-15T10:00:00Z")}, "2026-01-15T10:02:00Z", "2026-01-15T10:05:00Z"},
		{"rate long after Start", Action{Schedule: mustParse(t, "rate(1 day)"),
			Start: mustTime(t, "2026-01-15T10:00:00Z")}, "2026-03-01T11:00:00Z", "2026-03-02T10:00:00Z"},
		{"rate days are 24 hours across DST", Action{Schedule: mustParse(t, "rate(1 day)"), Location: ny,
			Start: mustTime(t, "2026-03-07T15:00:00Z")}, "2026-03-08T14:00:00Z", "2026-03-08T15:00:00Z"},
		{"rate without Start counts from creation", Action{Schedule: mustParse(t, "rate(5 minutes)"),
			Created: mustTime(t, "2026-01-15T10:00:30Z")}, "2026-01-15T10:00:30Z", "2026-01-15T10:05:30Z"},
		{"rate does not fire at creation", Action{Schedule: mustParse(t, "rate(1 hour)"),
			Created: mustTime(t, "2026-01-15T10:00:00Z")}, "2026-01-15T09:00:00Z", "2026-01-15T11:00:00Z"},
		{"rate End is inclusive", Action{Schedule: mustParse(t, "rate(5 minutes)"),
			Start: mustTime(t, "2026-01-15T10:00:00Z"), End: mustTime(t, "2026-01-15T10:20:00Z")},
			"2026-01-15T10:15:00Z", "2026-01-15T10:20:00Z"},
		{"rate stops after End", Action{Schedule: mustParse(t, "rate(5 minutes)"),
			Start: mustTime(t, "2026-01-15T10:00:00Z"), End: mustTime(t, "2026-01-15T10:20:00Z")},
			"2026-01-15T10:20:00Z", ""},
		{"cron fires at Start first", Action{Schedule: mustParse(t, "cron(0 18 ? * MON-FRI *)"),
			Start: mustTime(t, "2026-01-19T09:00:00Z")}, "2026-01-15T00:00:00Z", "2026-01-19T09:00:00Z"},
		{"cron then follows its recurrence", Action{Schedule: mustParse(t, "cron(0 18 ? * MON-FRI *)"),
			Start: mustTime(t, "2026-01-19T09:00:00Z")}, "2026-01-19T09:00:00Z", "2026-01-19T18:00:00Z"},
		{"cron stops after End", Action{Schedule: mustParse(t, "cron(0 18 ? * MON-FRI *)"),
			End: mustTime(t, "2026-01-20T17:00:00Z")}, "2026-01-19T18:00:00Z", ""},
		{"cron in its zone", Action{Schedule: mustParse(t, "cron(0 9 ? * MON *)"), Location: ny},
			"2026-01-15T00:00:00Z", "2026-01-19T14:00:00Z"},
		{"at inside bounds", Action{Schedule: mustParse(t, "at(2026-06-01T12:00:00)"),
			Start: mustTime(t, "2026-06-01T00:00:00Z"), End: mustTime(t, "2026-06-02T00:00:00Z")},
			"2026-01-01T00:00:00Z", "2026-06-01T12:00:00Z"},
		{"at before Start never fires", Action{Schedule: mustParse(t, "at(2026-06-01T12:00:00)"),
			Start: mustTime(t, "2026-07-01T00:00:00Z")}, "2026-01-01T00:00:00Z", ""},
		{"at after End never fires", Action{Schedule: mustParse(t, "at(2026-06-01T12:00:00)"),
			End: mustTime(t, "2026-05-01T00:00:00Z")}, "2026-01-01T00:00:00Z", ""},
		{"zero action", Action{}, "2026-01-01T00:00:00Z", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.action.Next(mustTime(t, tc.after))
			if tc.want == "" {
				if ok {
					t.Fatalf("Next = %s, want none", got.UTC().Format(time.RFC3339))
				}
				return
			}
			if !ok || !got.Equal(mustTime(t, tc.want)) {
				t.Fatalf("Next = %s, %v; want %s", got.UTC().Format(time.RFC3339), ok, tc.want)
			}
		})
	}
}

func TestActionLast(t *testing.T) {
	rate := Action{Schedule: mustParse(t, "rate(5 minutes)"), Start: mustTime(t, "2026-01-15T10:00:00Z")}
	rateEnd := rate
	rateEnd.End = mustTime(t, "2026-01-15T10:12:00Z")
	cron := Action{Schedule: mustParse(t, "cron(0 18 ? * MON-FRI *)"), Start: mustTime(t, "2026-01-19T09:00:00Z")}
	tests := []struct {
		name   string
		action Action
		before string
		want   string
	}{
		{"rate between fires", rate, "2026-01-15T10:17:00Z", "2026-01-15T10:15:00Z"},
		{"rate on a fire", rate, "2026-01-15T10:00:00Z", "2026-01-15T10:00:00Z"},
		{"rate before Start", rate, "2026-01-15T09:59:00Z", ""},
		{"rate capped by End", rateEnd, "2026-01-15T11:00:00Z", "2026-01-15T10:10:00Z"},
		{"cron Start before the first recurrence", cron, "2026-01-19T12:00:00Z", "2026-01-19T09:00:00Z"},
		{"cron recurrence after Start", cron, "2026-01-19T18:30:00Z", "2026-01-19T18:00:00Z"},
		{"cron before Start", cron, "2026-01-18T00:00:00Z", ""},
		{"cron over the weekend", cron, "2026-01-25T12:00:00Z", "2026-01-23T18:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.action.Last(mustTime(t, tc.before))
			if tc.want == "" {
				if ok {
					t.Fatalf("Last = %s, want none", got.UTC().Format(time.RFC3339))
				}
				return
			}
			if !ok || !got.Equal(mustTime(t, tc.want)) {
				t.Fatalf("Last = %s, %v; want %s", got.UTC().Format(time.RFC3339), ok, tc.want)
			}
		})
	}
}

func TestActionDue(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	daily := Action{Schedule: mustParse(t, "cron(0 10 * * ? *)"), Created: mustTime(t, "2026-01-19T00:00:00Z")}
	lateCreated := daily
	lateCreated.Created = mustTime(t, "2026-01-21T10:30:00Z")
	fallBack := Action{Schedule: mustParse(t, "cron(30 1 * * ? *)"), Location: ny, Created: mustTime(t, "2026-10-31T00:00:00Z")}
	springGap := Action{Schedule: mustParse(t, "cron(30 2 * * ? *)"), Location: ny, Created: mustTime(t, "2026-03-01T00:00:00Z")}
	rate := Action{Schedule: mustParse(t, "rate(5 minutes)"), Start: mustTime(t, "2026-01-15T10:00:00Z")}
	once := Action{Schedule: mustParse(t, "at(2026-01-20T00:00:00)"), Created: mustTime(t, "2026-01-21T00:00:00Z")}
	tests := []struct {
		name      string
		action    Action
		lastFired string // "" for never
		now       string
		want      string // "" for nothing due
	}{
		{"first fire after a missed day is the latest only", daily, "", "2026-01-21T12:00:00Z", "2026-01-21T10:00:00Z"},
		{"already fired", daily, "2026-01-21T10:00:00Z", "2026-01-21T12:00:00Z", ""},
		{"next day's fire", daily, "2026-01-21T10:00:00Z", "2026-01-22T10:00:00Z", "2026-01-22T10:00:00Z"},
		{"one second before the fire", daily, "2026-01-21T10:00:00Z", "2026-01-22T09:59:59Z", ""},
		{"nothing since creation", daily, "", "2026-01-19T09:00:00Z", ""},
		{"fires before creation are not due", lateCreated, "", "2026-01-21T12:00:00Z", ""},
		{"at before creation is never due", once, "", "2026-02-01T00:00:00Z", ""},
		{"fall-back: first occurrence is due", fallBack, "", "2026-11-01T05:45:00Z", "2026-11-01T05:30:00Z"},
		{"fall-back: no second fire in the repeated hour", fallBack, "2026-11-01T05:30:00Z", "2026-11-01T06:45:00Z", ""},
		{"spring-forward: the skipped day is not due", springGap, "2026-03-07T07:30:00Z", "2026-03-08T12:00:00Z", ""},
		{"spring-forward: the day after is", springGap, "2026-03-07T07:30:00Z", "2026-03-09T07:00:00Z", "2026-03-09T06:30:00Z"},
		{"rate catches up to the latest", rate, "2026-01-15T10:05:00Z", "2026-01-15T10:17:00Z", "2026-01-15T10:15:00Z"},
		{"rate Start itself is due", rate, "", "2026-01-15T10:00:00Z", "2026-01-15T10:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var last time.Time
			if tc.lastFired != "" {
				last = mustTime(t, tc.lastFired)
			}
			now := mustTime(t, tc.now)
			got, ok := tc.action.Due(last, now)
			if tc.want == "" {
				if ok {
					t.Fatalf("Due = %s, want nothing", got.UTC().Format(time.RFC3339))
				}
				return
			}
			if !ok || !got.Equal(mustTime(t, tc.want)) {
				t.Fatalf("Due = %s, %v; want %s", got.UTC().Format(time.RFC3339), ok, tc.want)
			}
			// Once the fire is recorded it is not due again, also after a
			// restart that asks with the persisted value.
			if again, ok := tc.action.Due(got, now); ok {
				t.Errorf("Due after recording %s = %s again", tc.want, again.UTC().Format(time.RFC3339))
			}
		})
	}
}

// TestActionDueFiresEachOnceWhenPolled polls an action every 20 seconds for
// three days across a DST change, the way the scaling loop does, and checks
// that the fires performed are exactly the ones Next enumerates.
func TestActionDueFiresEachOnceWhenPolled(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	for _, expr := range []string{"cron(0/30 0-3 * * ? *)", "rate(45 minutes)", "cron(30 1 * * ? *)"} {
		t.Run(expr, func(t *testing.T) {
			start := mustTime(t, "2026-10-31T00:00:00Z")
			end := start.Add(72 * time.Hour)
			a := Action{Schedule: mustParse(t, expr), Location: ny, Created: start}
			var want []time.Time
			for t0 := start; ; {
				next, ok := a.Next(t0)
				if !ok || next.After(end) {
					break
				}
				want = append(want, next)
				t0 = next
			}
			var got []time.Time
			var last time.Time
			for now := start; !now.After(end); now = now.Add(20 * time.Second) {
				if fire, ok := a.Due(last, now); ok {
					got = append(got, fire)
					last = fire
				}
			}
			if len(got) != len(want) || len(want) == 0 {
				t.Fatalf("polling fired %d times, Next enumerates %d", len(got), len(want))
			}
			for i := range want {
				if !got[i].Equal(want[i]) {
					t.Fatalf("fire %d: polled %s, Next says %s", i, got[i].UTC().Format(time.RFC3339), want[i].UTC().Format(time.RFC3339))
				}
			}
		})
	}
}

// TestNextLastConsistent checks, at random instants, that Last and Next
// bracket the instant with no fire between them.
func TestNextLastConsistent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	berlin := mustLoc(t, "Europe/Berlin")
	actions := []Action{
		{Schedule: mustParse(t, "cron(0/7 * ? * MON-FRI *)"), Location: berlin},
		{Schedule: mustParse(t, "cron(30 2 L * ? *)"), Location: berlin},
		{Schedule: mustParse(t, "cron(0 0 ? * 6#3 2026-2030)"), Location: berlin},
		{Schedule: mustParse(t, "rate(13 minutes)"), Start: mustTime(t, "2026-01-01T00:00:00Z")},
		{Schedule: mustParse(t, "at(2026-10-25T02:30:00)"), Location: berlin},
	}
	base := mustTime(t, "2026-01-01T00:00:00Z")
	for _, a := range actions {
		for range 300 {
			now := base.Add(time.Duration(rng.Int64N(int64(366 * 24 * time.Hour))))
			last, lok := a.Last(now)
			next, nok := a.Next(now)
			if lok && last.After(now) {
				t.Fatalf("%s: Last(%s) = %s is after it", a.Schedule, now, last)
			}
			if nok && !next.After(now) {
				t.Fatalf("%s: Next(%s) = %s is not after it", a.Schedule, now, next)
			}
			if lok {
				if n, ok := a.Next(last.Add(-time.Nanosecond)); !ok || !n.Equal(last) {
					t.Fatalf("%s: Next just before Last(%s) = %s is %s, %v", a.Schedule, now, last, n, ok)
				}
				if n, ok := a.Next(last); ok && !n.After(now) {
					t.Fatalf("%s: a fire %s lies between Last %s and %s", a.Schedule, n, last, now)
				}
			}
			if nok {
				if l, ok := a.Last(next); !ok || !l.Equal(next) {
					t.Fatalf("%s: Last(Next(%s)) = %s, %v; want %s", a.Schedule, now, l, ok, next)
				}
			}
		}
	}
}

func BenchmarkDue(b *testing.B) {
	ny, err := LoadTimezone("America/New_York")
	if err != nil {
		b.Fatal(err)
	}
	s, err := Parse("cron(0 18 ? * MON-FRI *)")
	if err != nil {
		b.Fatal(err)
	}
	a := Action{Schedule: s, Location: ny, Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	last := time.Date(2026, 1, 15, 23, 0, 0, 0, time.UTC)
	now := time.Date(2026, 1, 16, 12, 0, 0, 0, time.UTC)
	for b.Loop() {
		if _, ok := a.Due(last, now); ok {
			b.Fatal("unexpectedly due")
		}
	}
}
