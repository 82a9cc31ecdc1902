package schedule

import (
	"errors"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the host's zoneinfo
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := LoadTimezone(name)
	if err != nil {
		t.Fatalf("LoadTimezone(%q): %v", name, err)
	}
	return loc
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad time %q: %v", s, err)
	}
	return v
}

func mustParse(t testing.TB, expr string) Schedule {
	t.Helper()
	s, err := Parse(expr)
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	return s
}

// nextCases are checked against calendars by hand: 2026-01-01 is a Thursday;
// America/New_York springs forward 2026-03-08 02:00 EST -> 03:00 EDT and
// falls back 2026-11-01 02:00 EDT -> 01:00 EST; Europe/Berlin springs forward
// 2026-03-29 02:00 CET -> 03:00 CEST and falls back 2026-10-25 03:00 CEST ->
// 02:00 CET.
var nextCases = []struct {
	name  string
	expr  string
	tz    string
	after string
	want  string // "" when there is no next fire
}{
	// Plain fields.
	{"daily later today", "cron(0 10 * * ? *)", "", "2026-01-15T09:59:59Z", "2026-01-15T10:00:00Z"},
	{"daily strictly after a fire", "cron(0 10 * * ? *)", "", "2026-01-15T10:00:00Z", "2026-01-16T10:00:00Z"},
	{"daily tomorrow", "cron(15 12 * * ? *)", "", "2026-01-15T12:15:30Z", "2026-01-16T12:15:00Z"},
	{"every minute", "cron(* * * * ? *)", "", "2026-01-15T10:07:30Z", "2026-01-15T10:08:00Z"},
	{"first of month", "cron(0 8 1 * ? *)", "", "2026-01-15T00:00:00Z", "2026-02-01T08:00:00Z"},
	{"year end rollover", "cron(0 0 1 1 ? *)", "", "2026-12-31T23:59:00Z", "2027-01-01T00:00:00Z"},
	{"list of hours", "cron(0 6,18 * * ? *)", "", "2026-01-15T06:00:00Z", "2026-01-15T18:00:00Z"},

	// Increments and ranges.
	{"0/15 quarter hours", "cron(0/15 * * * ? *)", "", "2026-01-15T10:07:30Z", "2026-01-15T10:15:00Z"},
	{"0/15 wraps the hour", "cron(0/15 * * * ? *)", "", "2026-01-15T10:45:00Z", "2026-01-15T11:00:00Z"},
	{"*/20", "cron(*/20 * * * ? *)", "", "2026-01-15T10:41:00Z", "2026-01-15T11:00:00Z"},
	{"5/20 starts at 5", "cron(5/20 * * * ? *)", "", "2026-01-15T10:00:00Z", "2026-01-15T10:05:00Z"},
	{"10-50/20 first", "cron(10-50/20 * * * ? *)", "", "2026-01-15T10:07:30Z", "2026-01-15T10:10:00Z"},
	{"10-50/20 middle", "cron(10-50/20 * * * ? *)", "", "2026-01-15T10:10:00Z", "2026-01-15T10:30:00Z"},
	{"10-50/20 next hour", "cron(10-50/20 * * * ? *)", "", "2026-01-15T10:50:00Z", "2026-01-15T11:10:00Z"},
	{"business hours every 5 min", "cron(0/5 8-17 ? * MON-FRI *)", "", "2026-01-16T17:52:00Z", "2026-01-16T17:55:00Z"},
	{"business hours over the weekend", "cron(0/5 8-17 ? * MON-FRI *)", "", "2026-01-16T17:55:00Z", "2026-01-19T08:00:00Z"},
	{"weekdays 18:00 from friday", "cron(0 18 ? * MON-FRI *)", "", "2026-01-16T18:00:00Z", "2026-01-19T18:00:00Z"},
	{"every 10 min weekdays from saturday", "cron(0/10 * ? * MON-FRI *)", "", "2026-01-17T12:00:00Z", "2026-01-19T00:00:00Z"},
	{"hour range wraps midnight", "cron(0 22-2 * * ? *)", "", "2026-01-15T02:30:00Z", "2026-01-15T22:00:00Z"},
	{"hour range wraps to early morning", "cron(0 22-2 * * ? *)", "", "2026-01-15T23:30:00Z", "2026-01-16T00:00:00Z"},
	{"weekday range wraps the week", "cron(0 0 ? * FRI-MON *)", "", "2026-01-19T00:00:00Z", "2026-01-23T00:00:00Z"},
	{"weekday range wraps saturday", "cron(0 0 ? * FRI-MON *)", "", "2026-01-16T00:00:00Z", "2026-01-17T00:00:00Z"},

	// Names and numbering: 1 is Sunday.
	{"numeric 2 is monday", "cron(0 9 ? * 2 *)", "", "2026-01-15T00:00:00Z", "2026-01-19T09:00:00Z"},
	{"numeric 1 is sunday", "cron(0 9 ? * 1 *)", "", "2026-01-15T00:00:00Z", "2026-01-18T09:00:00Z"},
	{"lower-case names", "cron(0 9 ? * sun *)", "", "2026-01-15T00:00:00Z", "2026-01-18T09:00:00Z"},
	{"month names", "cron(0 0 1 JAN,JUL ? *)", "", "2026-01-15T00:00:00Z", "2026-07-01T00:00:00Z"},
	{"month name range", "cron(0 0 1 OCT-DEC ? *)", "", "2026-01-15T00:00:00Z", "2026-10-01T00:00:00Z"},
	{"star in both day fields is daily", "cron(0 0 * * * *)", "", "2026-01-15T00:00:00Z", "2026-01-16T00:00:00Z"},
	{"AAS doc form with star day-of-month", "cron(30 6 * * 2 *)", "", "2026-01-15T00:00:00Z", "2026-01-19T06:30:00Z"},
	{"star day-of-week with a day", "cron(0 0 20 * * *)", "", "2026-01-15T00:00:00Z", "2026-01-20T00:00:00Z"},

	// Leap days.
	{"leap day from 2026", "cron(0 0 29 2 ? *)", "", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z"},
	{"leap day after one", "cron(0 0 29 2 ? *)", "", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"},
	{"2100 is not a leap year", "cron(0 0 29 FEB ? *)", "", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z"},
	{"31st skips short months", "cron(0 0 31 * ? *)", "", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z"},
	{"30 February never", "cron(0 0 30 2 ? *)", "", "2026-01-01T00:00:00Z", ""},

	// L, W and #.
	{"L in february", "cron(0 0 L * ? *)", "", "2026-02-10T00:00:00Z", "2026-02-28T00:00:00Z"},
	{"L in a leap february", "cron(0 0 L * ? *)", "", "2028-02-10T00:00:00Z", "2028-02-29T00:00:00Z"},
	{"L after april's", "cron(0 0 L * ? *)", "", "2026-04-30T00:00:00Z", "2026-05-31T00:00:00Z"},
	{"L-2", "cron(0 0 L-2 * ? *)", "", "2026-02-01T00:00:00Z", "2026-02-26T00:00:00Z"},
	{"LW when the last day is saturday", "cron(0 9 LW * ? *)", "", "2026-01-15T00:00:00Z", "2026-01-30T09:00:00Z"},
	{"LW when the last day is sunday", "cron(0 9 LW * ? *)", "", "2026-05-01T00:00:00Z", "2026-05-29T09:00:00Z"},
	{"15W on a thursday", "cron(0 9 15W * ? *)", "", "2026-01-01T00:00:00Z", "2026-01-15T09:00:00Z"},
	{"15W on a sunday is monday", "cron(0 9 15W * ? *)", "", "2026-02-01T00:00:00Z", "2026-02-16T09:00:00Z"},
	{"15W on a saturday is friday", "cron(0 9 15W * ? *)", "", "2026-08-01T00:00:00Z", "2026-08-14T09:00:00Z"},
	{"1W on a saturday stays in the month", "cron(0 9 1W * ? *)", "", "2026-07-15T00:00:00Z", "2026-08-03T09:00:00Z"},
	{"31W on a sunday stays in the month", "cron(0 9 31W * ? *)", "", "2026-05-01T00:00:00Z", "2026-05-29T09:00:00Z"},
	{"31W skips 30-day months", "cron(0 9 31W * ? *)", "", "2026-03-31T09:00:00Z", "2026-05-29T09:00:00Z"},
	{"6L last friday", "cron(0 12 ? * 6L *)", "", "2026-01-01T00:00:00Z", "2026-01-30T12:00:00Z"},
	{"5L last thursday", "cron(0 12 ? * 5L *)", "", "2026-01-01T00:00:00Z", "2026-01-29T12:00:00Z"},
	{"FRIL by name", "cron(0 12 ? * FRIL *)", "", "2026-01-30T12:00:00Z", "2026-02-27T12:00:00Z"},
	{"L alone in day-of-week is saturday", "cron(0 12 ? * L *)", "", "2026-01-15T00:00:00Z", "2026-01-17T12:00:00Z"},
	{"3#2 second tuesday", "cron(0 12 ? * 3#2 *)", "", "2026-01-01T00:00:00Z", "2026-01-13T12:00:00Z"},
	{"MON#1 first monday", "cron(0 12 ? * MON#1 *)", "", "2026-01-06T00:00:00Z", "2026-02-02T12:00:00Z"},
	{"2#5 fifth monday skips months", "cron(0 12 ? * 2#5 *)", "", "2026-01-01T00:00:00Z", "2026-03-30T12:00:00Z"},

	// Years.
	{"single year", "cron(0 0 1 1 ? 2027)", "", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"},
	{"single year exhausted", "cron(0 0 1 1 ? 2027)", "", "2027-01-01T00:00:00Z", ""},
	{"year step", "cron(0 0 1 1 ? 2020-2030/5)", "", "2020-01-01T00:00:00Z", "2025-01-01T00:00:00Z"},
	{"last year of the range", "cron(0 0 1 1 ? *)", "", "2198-06-01T00:00:00Z", "2199-01-01T00:00:00Z"},
	{"range exhausted at 2199", "cron(0 0 31 12 ? *)", "", "2199-12-31T00:00:00Z", ""},
	{"after 2199", "cron(* * * * ? *)", "", "2200-01-01T00:00:00Z", ""},
	{"before 1970", "cron(0 0 1 1 ? *)", "", "1969-06-01T00:00:00Z", "1970-01-01T00:00:00Z"},

	// Fixed-offset zones.
	{"Etc/GMT+9 is nine hours behind", "cron(0 10 * * ? *)", "Etc/GMT+9", "2026-01-15T00:00:00Z", "2026-01-15T19:00:00Z"},
	{"Pacific/Tahiti", "cron(0 8 ? * MON *)", "Pacific/Tahiti", "2026-01-15T00:00:00Z", "2026-01-19T18:00:00Z"},

	// Spring forward, America/New_York.
	{"NY 02:30 the day before", "cron(30 2 * * ? *)", "America/New_York", "2026-03-06T17:00:00Z", "2026-03-07T07:30:00Z"},
	{"NY 02:30 skipped on spring-forward day", "cron(30 2 * * ? *)", "America/New_York", "2026-03-07T17:00:00Z", "2026-03-09T06:30:00Z"},
	{"NY 03:00 exists on spring-forward day", "cron(0 3 * * ? *)", "America/New_York", "2026-03-07T17:00:00Z", "2026-03-08T07:00:00Z"},
	{"NY half-hourly jumps the gap", "cron(0/30 * * * ? *)", "America/New_York", "2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z"},
	{"NY 01:59 just before the gap", "cron(59 1 * * ? *)", "America/New_York", "2026-03-08T00:00:00Z", "2026-03-08T06:59:00Z"},

	// Fall back, America/New_York.
	{"NY 01:30 fires on its first occurrence", "cron(30 1 * * ? *)", "America/New_York", "2026-10-31T16:00:00Z", "2026-11-01T05:30:00Z"},
	{"NY 01:30 does not fire again in EST", "cron(30 1 * * ? *)", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"},
	{"NY half-hourly skips the repeated hour", "cron(0/30 * * * ? *)", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z"},
	{"NY from inside the repeated hour", "cron(0/30 * * * ? *)", "America/New_York", "2026-11-01T06:10:00Z", "2026-11-01T07:00:00Z"},
	{"NY weekday cron over fall-back sunday", "cron(0 1 ? * SUN *)", "America/New_York", "2026-10-31T00:00:00Z", "2026-11-01T05:00:00Z"},

	// Europe/Berlin.
	{"Berlin 02:30 skipped on spring-forward day", "cron(30 2 * * ? *)", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-30T00:30:00Z"},
	{"Berlin 02:30 first occurrence on fall-back day", "cron(30 2 * * ? *)", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"},
	{"Berlin 02:30 not repeated in CET", "cron(30 2 * * ? *)", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
	{"Berlin hourly skips the repeated 02:00", "cron(0 * * * ? *)", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z"},
	{"Berlin 02:00 on last sundays skips march's", "cron(0 2 ? * 1L *)", "Europe/Berlin", "2026-03-01T00:00:00Z", "2026-04-26T00:00:00Z"},
	{"Berlin 02:00 on march's last sunday never exists", "cron(0 2 ? 3 1L *)", "Europe/Berlin", "2026-03-01T00:00:00Z", ""},

	// at().
	{"at in the future", "at(2026-06-01T12:00:00)", "", "2026-01-15T00:00:00Z", "2026-06-01T12:00:00Z"},
	{"at with seconds", "at(2026-06-01T12:00:30)", "", "2026-06-01T12:00:00Z", "2026-06-01T12:00:30Z"},
	{"at in the past", "at(2026-06-01T12:00:00)", "", "2026-06-01T12:00:00Z", ""},
	{"at in a zone", "at(2026-06-01T12:00:00)", "America/New_York", "2026-01-15T00:00:00Z", "2026-06-01T16:00:00Z"},
	{"at in the spring-forward gap fires after it", "at(2026-03-08T02:30:00)", "America/New_York", "2026-03-01T00:00:00Z", "2026-03-08T07:30:00Z"},
	{"at in the repeated hour fires first", "at(2026-11-01T01:30:00)", "America/New_York", "2026-10-01T00:00:00Z", "2026-11-01T05:30:00Z"},
	{"at in Berlin's gap", "at(2026-03-29T02:15:00)", "Europe/Berlin", "2026-03-01T00:00:00Z", "2026-03-29T01:15:00Z"},
}

func TestNext(t *testing.T) {
	for _, tc := range nextCases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, tc.expr)
			loc := mustLoc(t, tc.tz)
			after := mustTime(t, tc.after)
			got, ok := s.Next(after, loc)
			if tc.want == "" {
				if ok {
					t.Fatalf("Next(%s) = %s, want none", tc.after, got.UTC().Format(time.RFC3339))
				}
				return
			}
			want := mustTime(t, tc.want)
			if !ok || !got.Equal(want) {
				t.Fatalf("Next(%s) = %s, %v; want %s", tc.after, got.UTC().Format(time.RFC3339), ok, tc.want)
			}
			if !s.Matches(got, loc) {
				t.Errorf("Matches(%s) = false for the fire Next returned", tc.want)
			}
			if got.Location() != loc {
				t.Errorf("Next returned a time in %v, want %v", got.Location(), loc)
			}
		})
	}
}

// TestNextAgreesWithMinuteScan checks the field-jumping search against a
// minute-by-minute scan that decides DST cases with the time package alone:
// an instant fires when its local reading matches and no earlier instant
// within three hours had the same reading.
func TestNextAgreesWithMinuteScan(t *testing.T) {
	exprs := []string{
		"cron(* * * * ? *)", "cron(0/30 * * * ? *)", "cron(30 2 * * ? *)", "cron(0 1-3 * * ? *)",
		"cron(15 */2 ? * SUN *)", "cron(0 0 L * ? *)", "cron(0 9 LW * ? *)", "cron(0 12 ? * 1#1 *)",
		"cron(45 1 1W * ? *)", "cron(0 2 ? * 1L *)",
	}
	zones := []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"}
	starts := []string{"2026-03-07T20:00:00Z", "2026-03-28T20:00:00Z", "2026-10-24T20:00:00Z",
		"2026-10-31T20:00:00Z", "2026-04-04T10:00:00Z", "2026-10-03T10:00:00Z"}
	for _, expr := range exprs {
		s := mustParse(t, expr)
		for _, zone := range zones {
			loc := mustLoc(t, zone)
			for _, start := range starts {
				after := mustTime(t, start)
				end := after.Add(36 * time.Hour)
				for range 40 {
					got, ok := s.Next(after, loc)
					want, wantOK := scanNext(s, after, end, loc)
					if wantOK && (!ok || !got.Equal(want)) {
						t.Fatalf("%s in %s: Next(%s) = %s, %v; the scan says %s", expr, zone,
							after.UTC().Format(time.RFC3339), got.UTC().Format(time.RFC3339), ok, want.UTC().Format(time.RFC3339))
					}
					if !wantOK {
						if ok && !got.After(end) {
							t.Fatalf("%s in %s: Next(%s) = %s, the scan found nothing before %s", expr, zone,
								after.UTC().Format(time.RFC3339), got.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
						}
						break
					}
					after = got
				}
			}
		}
	}
}

func scanNext(s Schedule, after, end time.Time, loc *time.Location) (time.Time, bool) {
	for t := after.Truncate(time.Minute).Add(time.Minute); !t.After(end); t = t.Add(time.Minute) {
		lt := t.In(loc)
		if lt.Second() != 0 || !s.cron.matchesWall(wallOf(lt)) {
			continue
		}
		repeated := false
		for back := 30 * time.Minute; back <= 3*time.Hour; back += 30 * time.Minute {
			if wallOf(t.Add(-back).In(loc)) == wallOf(lt) {
				repeated = true
			}
		}
		if !repeated {
			return t, true
		}
	}
	return time.Time{}, false
}

func TestNextSequenceAcrossFallBack(t *testing.T) {
	s := mustParse(t, "cron(0/30 * * * ? *)")
	loc := mustLoc(t, "America/New_York")
	want := []string{ // 00:00, 00:30, 01:00, 01:30 EDT, then 02:00, 02:30 EST
		"2026-11-01T04:00:00Z", "2026-11-01T04:30:00Z", "2026-11-01T05:00:00Z",
		"2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z", "2026-11-01T07:30:00Z",
	}
	after := mustTime(t, "2026-11-01T03:59:00Z")
	for i, w := range want {
		got, ok := s.Next(after, loc)
		if !ok || !got.Equal(mustTime(t, w)) {
			t.Fatalf("fire %d: got %s, %v; want %s", i, got.UTC().Format(time.RFC3339), ok, w)
		}
		after = got
	}
}

func TestMatches(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		name string
		expr string
		loc  *time.Location
		at   string
		want bool
	}{
		{"on the minute", "cron(0 10 * * ? *)", time.UTC, "2026-01-15T10:00:00Z", true},
		{"seconds past the minute", "cron(0 10 * * ? *)", time.UTC, "2026-01-15T10:00:01Z", false},
		{"wrong hour", "cron(0 10 * * ? *)", time.UTC, "2026-01-15T11:00:00Z", false},
		{"first occurrence of a repeated reading", "cron(30 1 * * ? *)", ny, "2026-11-01T05:30:00Z", true},
		{"second occurrence of a repeated reading", "cron(30 1 * * ? *)", ny, "2026-11-01T06:30:00Z", false},
		{"at matches its instant", "at(2026-06-01T12:00:00)", time.UTC, "2026-06-01T12:00:00Z", true},
		{"at does not match another", "at(2026-06-01T12:00:00)", time.UTC, "2026-06-01T12:01:00Z", false},
		{"rate has no calendar", "rate(5 minutes)", time.UTC, "2026-06-01T12:00:00Z", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustParse(t, tc.expr).Matches(mustTime(t, tc.at), tc.loc); got != tc.want {
				t.Errorf("Matches(%s) = %v, want %v", tc.at, got, tc.want)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		expr     string
		kind     Kind
		interval time.Duration
	}{
		{"rate(1 minute)", Rate, time.Minute},
		{"rate(5 minutes)", Rate, 5 * time.Minute},
		{"rate(1 hour)", Rate, time.Hour},
		{"rate(12 hours)", Rate, 12 * time.Hour},
		{"rate(1 day)", Rate, 24 * time.Hour},
		{"rate(7 days)", Rate, 7 * 24 * time.Hour},
		{"  rate( 10   minutes )  ", Rate, 10 * time.Minute},
		{"at(2026-02-28T23:59:59)", At, 0},
		{"at(2028-02-29T00:00:00)", At, 0},
		{"cron(0 10 * * ? *)", Cron, 0},
		{"cron(0/5 8-17 ? * MON-FRI *)", Cron, 0},
		{"cron(0 0 ? * 3#2 2026-2030)", Cron, 0},
		{"cron(0 0 L-30 * ? *)", Cron, 0},
		{"cron(0/60 * * * ? *)", Cron, 0},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			s := mustParse(t, tc.expr)
			if s.Kind() != tc.kind || s.Interval() != tc.interval {
				t.Errorf("Kind, Interval = %v, %v; want %v, %v", s.Kind(), s.Interval(), tc.kind, tc.interval)
			}
			if s.String() == "" || s.String()[0] == ' ' {
				t.Errorf("String() = %q", s.String())
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name  string
		expr  string
		field string
		want  string // the full message
	}{
		{"empty", "", "", "Invalid schedule expression '': expected at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)"},
		{"unknown kind", "every(5 minutes)", "", `Invalid schedule expression 'every(5 minutes)': unknown expression type "every"; expected at(...), rate(...) or cron(...)`},
		{"plain crontab", "0 10 * * *", "", "Invalid schedule expression '0 10 * * *': expected at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)"},

		{"rate plural with 1", "rate(1 minutes)", "", "Invalid schedule expression 'rate(1 minutes)': the unit must be singular when the value is 1: use rate(1 minute)"},
		{"rate singular with 5", "rate(5 hour)", "", "Invalid schedule expression 'rate(5 hour)': the unit must be plural when the value is greater than 1: use rate(5 hours)"},
		{"rate zero", "rate(0 minutes)", "", `Invalid schedule expression 'rate(0 minutes)': rate value "0" must be a positive integer`},
		{"rate negative", "rate(-5 minutes)", "", `Invalid schedule expression 'rate(-5 minutes)': rate value "-5" must be a positive integer`},
		{"rate fraction", "rate(1.5 hours)", "", `Invalid schedule expression 'rate(1.5 hours)': rate value "1.5" must be a positive integer`},
		{"rate weeks", "rate(2 weeks)", "", `Invalid schedule expression 'rate(2 weeks)': unknown rate unit "weeks"; expected minute, minutes, hour, hours, day or days`},
		{"rate missing unit", "rate(5)", "", "Invalid schedule expression 'rate(5)': a rate expression needs a value and a unit, as in rate(5 minutes)"},
		{"rate overflow", "rate(99999999999999999999 days)", "", "Invalid schedule expression 'rate(99999999999999999999 days)': rate value 99999999999999999999 is too large"},
		{"rate too long for a duration", "rate(200000 days)", "", "Invalid schedule expression 'rate(200000 days)': rate value 200000 is too large"},

		{"at without time", "at(2026-06-01)", "", `Invalid schedule expression 'at(2026-06-01)': at() needs a date and time formatted as yyyy-mm-ddThh:mm:ss, found "2026-06-01"`},
		{"at with zone", "at(2026-06-01T12:00:00Z)", "", `Invalid schedule expression 'at(2026-06-01T12:00:00Z)': at() needs a date and time formatted as yyyy-mm-ddThh:mm:ss, found "2026-06-01T12:00:00Z"`},
		{"at february 29 of a common year", "at(2026-02-29T00:00:00)", "", "Invalid schedule expression 'at(2026-02-29T00:00:00)': at(): 2026-02 has no day 29"},
		{"at hour 24", "at(2026-06-01T24:00:00)", "", "Invalid schedule expression 'at(2026-06-01T24:00:00)': at(): hour 24 is out of range 00-23"},
		{"at month 13", "at(2026-13-01T00:00:00)", "", "Invalid schedule expression 'at(2026-13-01T00:00:00)': at(): month 13 is out of range 01-12"},

		{"cron five fields", "cron(0 10 * * ?)", "", "Invalid schedule expression 'cron(0 10 * * ?)': a cron expression needs 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), found 5"},
		{"cron seven fields", "cron(0 0 10 * * ? *)", "", "Invalid schedule expression 'cron(0 0 10 * * ? *)': a cron expression needs 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), found 7"},
		{"minute 60", "cron(60 * * * ? *)", "Minutes", "Invalid schedule expression 'cron(60 * * * ? *)': Minutes field: value 60 is out of range 0-59"},
		{"hour 24", "cron(0 24 * * ? *)", "Hours", "Invalid schedule expression 'cron(0 24 * * ? *)': Hours field: value 24 is out of range 0-23"},
		{"day 32", "cron(0 0 32 * ? *)", "Day-of-month", "Invalid schedule expression 'cron(0 0 32 * ? *)': Day-of-month field: value 32 is out of range 1-31"},
		{"day 0", "cron(0 0 0 * ? *)", "Day-of-month", "Invalid schedule expression 'cron(0 0 0 * ? *)': Day-of-month field: value 0 is out of range 1-31"},
		{"month 13", "cron(0 0 1 13 ? *)", "Month", "Invalid schedule expression 'cron(0 0 1 13 ? *)': Month field: value 13 is out of range 1-12"},
		{"bad month name", "cron(0 0 1 JANUARY ? *)", "Month", `Invalid schedule expression 'cron(0 0 1 JANUARY ? *)': Month field: "JANUARY" is not a number 1-12 or a name JAN-DEC`},
		{"weekday 0 is not sunday", "cron(0 0 ? * 0 *)", "Day-of-week", "Invalid schedule expression 'cron(0 0 ? * 0 *)': Day-of-week field: value 0 is out of range 1-7"},
		{"weekday 8", "cron(0 0 ? * 8 *)", "Day-of-week", "Invalid schedule expression 'cron(0 0 ? * 8 *)': Day-of-week field: value 8 is out of range 1-7"},
		{"year 1969", "cron(0 0 1 1 ? 1969)", "Year", "Invalid schedule expression 'cron(0 0 1 1 ? 1969)': Year field: value 1969 is out of range 1970-2199"},
		{"year 2200", "cron(0 0 1 1 ? 2200)", "Year", "Invalid schedule expression 'cron(0 0 1 1 ? 2200)': Year field: value 2200 is out of range 1970-2199"},
		{"backwards years", "cron(0 0 1 1 ? 2030-2020)", "Year", "Invalid schedule expression 'cron(0 0 1 1 ? 2030-2020)': Year field: range 2030-2020 runs backwards"},
		{"both question marks", "cron(0 0 ? * ? *)", "", "Invalid schedule expression 'cron(0 0 ? * ? *)': Day-of-month and Day-of-week cannot both be '?'; use '?' in one of them only"},
		{"both day fields", "cron(0 0 15 * MON *)", "", "Invalid schedule expression 'cron(0 0 15 * MON *)': Day-of-month (15) and Day-of-week (MON) cannot both be specified; use '?' in one of them"},
		{"question mark in hours", "cron(0 ? * * ? *)", "Hours", "Invalid schedule expression 'cron(0 ? * * ? *)': Hours field: '?' can only be used in the Day-of-month or Day-of-week field"},
		{"question mark in a list", "cron(0 0 ?,1 * ? *)", "Day-of-month", "Invalid schedule expression 'cron(0 0 ?,1 * ? *)': Day-of-month field: '?' cannot be combined with other values"},
		{"step zero", "cron(0/0 * * * ? *)", "Minutes", "Invalid schedule expression 'cron(0/0 * * * ? *)': Minutes field: increment 0 is out of range 1-60"},
		{"step too large", "cron(0 0/25 * * ? *)", "Hours", "Invalid schedule expression 'cron(0 0/25 * * ? *)': Hours field: increment 25 is out of range 1-24"},
		{"step not a number", "cron(0/x * * * ? *)", "Minutes", `Invalid schedule expression 'cron(0/x * * * ? *)': Minutes field: increment "x" is not a number`},
		{"empty list element", "cron(0,,5 * * * ? *)", "Minutes", "Invalid schedule expression 'cron(0,,5 * * * ? *)': Minutes field: empty element in list"},
		{"two hashes", "cron(0 0 ? * 3#1,6#3 *)", "Day-of-week", `Invalid schedule expression 'cron(0 0 ? * 3#1,6#3 *)': Day-of-week field: only one expression is allowed when '#' is used, found "3#1,6#3"`},
		{"sixth occurrence", "cron(0 0 ? * 3#6 *)", "Day-of-week", `Invalid schedule expression 'cron(0 0 ? * 3#6 *)': Day-of-week field: "3#6": the occurrence after '#' must be 1-5`},
		{"L in a list", "cron(0 0 L,15 * ? *)", "Day-of-month", "Invalid schedule expression 'cron(0 0 L,15 * ? *)': Day-of-month field: 'L' and 'W' cannot be combined with other days in a list"},
		{"W on a range", "cron(0 0 1-5W * ? *)", "Day-of-month", `Invalid schedule expression 'cron(0 0 1-5W * ? *)': Day-of-month field: "1-5W": 'W' needs a single day 1-31 before it`},
		{"L offset too large", "cron(0 0 L-31 * ? *)", "Day-of-month", `Invalid schedule expression 'cron(0 0 L-31 * ? *)': Day-of-month field: "L-31" needs an offset 0-30 after 'L-'`},
		{"L with a weekday list", "cron(0 0 ? * 2L,3 *)", "Day-of-week", "Invalid schedule expression 'cron(0 0 ? * 2L,3 *)': Day-of-week field: 'L' cannot be combined with other days in a list"},
		{"L in minutes", "cron(L * * * ? *)", "Minutes", `Invalid schedule expression 'cron(L * * * ? *)': Minutes field: "L" is not a number`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.expr)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want %q", tc.expr, tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tc.expr, err, tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false")
			}
			var se *SyntaxError
			if !errors.As(err, &se) || se.Field != tc.field {
				t.Errorf("SyntaxError field = %q, want %q", se.Field, tc.field)
			}
		})
	}
}

func TestParseTooLong(t *testing.T) {
	expr := "cron(0 0 1 1 ? " + string(make([]byte, MaxLen)) + ")"
	_, err := Parse(expr)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Parse of a %d-character expression: %v, want ErrInvalid", len(expr), err)
	}
	if len(err.Error()) > 300 {
		t.Errorf("error message is %d characters; the expression should be shortened in it", len(err.Error()))
	}
}

func TestLoadTimezone(t *testing.T) {
	tests := []struct {
		name    string
		wantErr bool
	}{
		{"", false}, {"UTC", false}, {"America/New_York", false}, {"Etc/GMT+9", false},
		{"Pacific/Tahiti", false}, {"Local", true}, {"Mars/Olympus_Mons", true}, {"../../etc/passwd", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := LoadTimezone(tc.name)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidTimezone) {
					t.Errorf("LoadTimezone(%q) error = %v, want ErrInvalidTimezone", tc.name, err)
				}
				return
			}
			if err != nil || loc == nil {
				t.Errorf("LoadTimezone(%q) = %v, %v", tc.name, loc, err)
			}
		})
	}
}

func BenchmarkNext(b *testing.B) {
	ny, err := LoadTimezone("America/New_York")
	if err != nil {
		b.Fatal(err)
	}
	after := time.Date(2026, 1, 15, 10, 7, 30, 0, time.UTC)
	for _, bc := range []struct {
		name string
		expr string
		loc  *time.Location
	}{
		{"sparse_leap_day_UTC", "cron(0 0 29 2 ? *)", time.UTC},
		{"sparse_leap_day_NewYork", "cron(0 0 29 2 ? *)", ny},
		{"fifth_monday_NewYork", "cron(0 12 ? * 2#5 *)", ny},
		{"business_hours_NewYork", "cron(0/5 8-17 ? * MON-FRI *)", ny},
	} {
		s, err := Parse(bc.expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, ok := s.Next(after, bc.loc); !ok {
					b.Fatal("no next fire")
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse("cron(0/5 8-17 ? * MON-FRI *)"); err != nil {
			b.Fatal(err)
		}
	}
}
