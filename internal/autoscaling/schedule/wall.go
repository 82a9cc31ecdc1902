package schedule

import "time"

// wall is a reading of a local wall clock, without a zone. Schedules are
// defined on wall time (cron fields, at() dates) and only become instants
// once a time zone resolves them.
type wall struct {
	year, month, day, hour, minute, second int
}

// wallOf returns the wall-clock reading of t in t's own location.
func wallOf(t time.Time) wall {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return wall{y, int(mo), d, h, mi, s}
}

// unix returns the wall reading as if it were UTC, in seconds since the epoch.
func (w wall) unix() int64 {
	return daysFromCivil(w.year, w.month, w.day)*86400 +
		int64(w.hour)*3600 + int64(w.minute)*60 + int64(w.second)
}

// wallFromUnix is the inverse of wall.unix.
func wallFromUnix(u int64) wall {
	days := floorDiv(u, 86400)
	secs := int(u - days*86400)
	y, m, d := civilFromDays(days)
	return wall{y, m, d, secs / 3600, secs / 60 % 60, secs % 60}
}

// addMinutes moves the reading by n minutes of wall time.
func (w wall) addMinutes(n int) wall { return wallFromUnix(w.unix() + int64(n)*60) }

// truncMinute drops the seconds.
func (w wall) truncMinute() wall { w.second = 0; return w }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// daysFromCivil returns the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := int64(floorDiv(int64(y), 400))
	yoe := int64(y) - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	dd := doy - (153*mp+2)/5 + 1
	mm := mp + 3
	if mm > 12 {
		mm -= 12
	}
	if mm <= 2 {
		yy++
	}
	return int(yy), int(mm), int(dd)
}

// weekday returns the day of the week of y-m-d in AWS numbering: 1 = Sunday
// through 7 = Saturday.
func weekday(y, m, d int) int {
	// 1970-01-01 was a Thursday, day 4 counting Sunday as 0.
	days := daysFromCivil(y, m, d) + 4
	return int(days-floorDiv(days, 7)*7) + 1
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// offsetAt returns loc's UTC offset, in seconds, at the instant u.
func offsetAt(u int64, loc *time.Location) int64 {
	_, off := time.Unix(u, 0).In(loc).Zone()
	return int64(off)
}

// resolve turns a wall reading into an instant in loc.
//
// A reading that happens twice (the hour repeated when clocks fall back)
// resolves to its first, earlier instant. A reading that never happens (the
// hour skipped when clocks spring forward) reports exists == false; first is
// then the instant the reading would denote on the offset in force before the
// transition, which lands after the gap by its length (02:30 becomes 03:30
// for a one-hour gap), as java.time's ZonedDateTime.of resolves it.
func resolve(w wall, loc *time.Location) (first time.Time, exists bool) {
	u := w.unix()
	if loc == time.UTC {
		return time.Unix(u, 0).UTC(), true
	}
	before := offsetAt(u-86400, loc)
	cands := [3]int64{before, offsetAt(u, loc), offsetAt(u+86400, loc)}
	var best int64
	found := false
	for i, o := range cands {
		if (i == 1 && o == cands[0]) || (i == 2 && (o == cands[0] || o == cands[1])) {
			continue
		}
		inst := u - o
		if offsetAt(inst, loc) != o {
			continue
		}
		if !found || inst < best {
			best, found = inst, true
		}
	}
	if found {
		return time.Unix(best, 0).In(loc), true
	}
	return time.Unix(u-before, 0).In(loc), false
}
