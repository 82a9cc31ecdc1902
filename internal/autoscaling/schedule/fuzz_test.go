package schedule

import (
	"errors"
	"testing"
	"time"
)

func FuzzParse(f *testing.F) {
	for _, tc := range nextCases {
		f.Add(tc.expr)
	}
	for _, s := range []string{
		"rate(1 minute)", "rate(5 minutes)", "rate(1 minutes)", "rate(0 days)", "at(2026-02-29T00:00:00)",
		"cron(0 0 ? * 3#1,6#3 *)", "cron(0 0 L-31 * ? *)", "cron(0 0 1-5W * ? *)", "cron(0 0 15 * MON *)",
		"cron(0/0 * * * ? *)", "cron(59-1 23-1 31-1 DEC-JAN SAT-SUN 2199)", "cron(0 0 lw * ? *)",
	} {
		f.Add(s)
	}
	ny, err := LoadTimezone("America/New_York")
	if err != nil {
		f.Fatal(err)
	}
	afters := []time.Time{
		time.Date(2026, 1, 15, 10, 7, 30, 0, time.UTC),
		time.Date(2026, 11, 1, 5, 10, 0, 0, time.UTC), // inside New York's repeated hour
		time.Date(2026, 3, 8, 6, 45, 0, 0, time.UTC),  // just before New York's gap
		time.Date(1969, 12, 31, 23, 59, 0, 0, time.UTC),
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr)
		if err != nil {
			var se *SyntaxError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &se) || se.Msg == "" {
				t.Fatalf("Parse(%q) returned %v, not a *SyntaxError", expr, err)
			}
			return
		}
		again, err := Parse(s.String())
		if err != nil || again.Kind() != s.Kind() || again.Interval() != s.Interval() {
			t.Fatalf("re-parsing %q: %v", s.String(), err)
		}
		for _, loc := range []*time.Location{time.UTC, ny} {
			for _, after := range afters {
				next, ok := s.Next(after, loc)
				if !ok {
					continue
				}
				if !next.After(after) {
					t.Fatalf("%s: Next(%s) = %s is not after it", expr, after, next)
				}
				if s.Kind() == Rate {
					if !next.Equal(after.Add(s.Interval())) {
						t.Fatalf("%s: Next(%s) = %s", expr, after, next)
					}
					continue
				}
				if !s.Matches(next, loc) {
					t.Fatalf("%s: Next(%s) = %s, which does not match", expr, after, next)
				}
				if last, ok := s.last(next, loc); !ok || !last.Equal(next) {
					t.Fatalf("%s: last(%s) = %s, %v", expr, next, last, ok)
				}
				if next.Sub(after) <= 3*time.Hour {
					for m := after.Truncate(time.Minute).Add(time.Minute); m.Before(next); m = m.Add(time.Minute) {
						if m.After(after) && s.Matches(m, loc) {
							t.Fatalf("%s: Next(%s) = %s skips the fire at %s", expr, after, next, m)
						}
					}
				}
			}
		}
	})
}
