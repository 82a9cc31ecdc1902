package schedule

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Field indexes of a cron expression, in the order they are written.
const (
	fMinutes = iota
	fHours
	fDayOfMonth
	fMonth
	fDayOfWeek
	fYear
	numFields
)

const (
	minYear = 1970
	maxYear = 2199
)

// fieldSpec names a cron field and bounds its values.
type fieldSpec struct {
	name     string
	min, max int
	names    []string // accepted three-letter names, index 0 = min
}

func fieldSpecs() [numFields]fieldSpec {
	return [numFields]fieldSpec{
		fMinutes:    {name: "Minutes", min: 0, max: 59},
		fHours:      {name: "Hours", min: 0, max: 23},
		fDayOfMonth: {name: "Day-of-month", min: 1, max: 31},
		fMonth: {name: "Month", min: 1, max: 12, names: []string{
			"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
		fDayOfWeek: {name: "Day-of-week", min: 1, max: 7, names: []string{
			"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
		fYear: {name: "Year", min: minYear, max: maxYear},
	}
}

// bitset holds values 0..255; cron fields use bit v for value v, years use
// bit y-1970.
type bitset [4]uint64

func (b *bitset) set(v int)     { b[v>>6] |= 1 << (v & 63) }
func (b bitset) has(v int) bool { return v >= 0 && v < 256 && b[v>>6]&(1<<(v&63)) != 0 }
func (b bitset) empty() bool    { return b[0]|b[1]|b[2]|b[3] == 0 }

// next returns the smallest member >= v, or -1.
func (b bitset) next(v int) int {
	if v < 0 {
		v = 0
	}
	for w := v >> 6; w < 4; w++ {
		word := b[w]
		if w == v>>6 {
			word &= ^uint64(0) << (v & 63)
		}
		if word != 0 {
			return w<<6 + bits.TrailingZeros64(word)
		}
	}
	return -1
}

// prev returns the largest member <= v, or -1.
func (b bitset) prev(v int) int {
	if v > 255 {
		v = 255
	}
	for w := v >> 6; w >= 0; w-- {
		word := b[w]
		if w == v>>6 && v&63 != 63 {
			word &= 1<<(v&63+1) - 1
		}
		if word != 0 {
			return w<<6 + 63 - bits.LeadingZeros64(word)
		}
	}
	return -1
}

// Day-of-month special forms; each stands alone in its field.
const (
	domValues      = iota // a set of days
	domLast               // L or L-n: the last day, or n days before it
	domLastWeekday        // LW: the last weekday (Mon-Fri) of the month
	domNearest            // nW: the weekday nearest day n, within the month
)

// Day-of-week special forms; each stands alone in its field.
const (
	dowValues = iota // a set of weekdays
	dowLast          // nL: the last given weekday of the month
	dowNth           // n#k: the k-th given weekday of the month
)

// cronSpec is a parsed cron() expression.
type cronSpec struct {
	minutes, hours, months, years bitset

	// At most one of the day fields restricts the day; the other is "?" or
	// "*" and then matches every day.
	domRestricted, dowRestricted bool

	domKind int
	domDays bitset // domValues
	domN    int    // domLast: offset from the last day; domNearest: the day

	dowKind int
	dowDays bitset // dowValues: 1 = Sunday .. 7 = Saturday
	dowWd   int    // dowLast, dowNth: the weekday
	dowK    int    // dowNth: which occurrence, 1-5
}

// cronError is a parse failure inside one field.
type cronError struct {
	field string
	msg   string
}

func fieldErr(f fieldSpec, format string, args ...any) *cronError {
	return &cronError{field: f.name, msg: fmt.Sprintf(format, args...)}
}

// parseCron parses the six fields between the parentheses of cron(...).
func parseCron(body string) (*cronSpec, *cronError) {
	fields := strings.Fields(body)
	if len(fields) != numFields {
		return nil, &cronError{msg: fmt.Sprintf(
			"a cron expression needs 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), found %d",
			len(fields))}
	}
	specs := fieldSpecs()
	c := &cronSpec{}
	var err *cronError
	if c.minutes, err = parseValues(specs[fMinutes], fields[fMinutes]); err != nil {
		return nil, err
	}
	if c.hours, err = parseValues(specs[fHours], fields[fHours]); err != nil {
		return nil, err
	}
	if c.months, err = parseValues(specs[fMonth], fields[fMonth]); err != nil {
		return nil, err
	}
	if c.years, err = parseValues(specs[fYear], fields[fYear]); err != nil {
		return nil, err
	}
	dom, dow := fields[fDayOfMonth], fields[fDayOfWeek]
	switch {
	case dom == "?" && dow == "?":
		return nil, &cronError{msg: "Day-of-month and Day-of-week cannot both be '?'; use '?' in one of them only"}
	case dom != "?" && dom != "*" && dow != "?" && dow != "*":
		return nil, &cronError{msg: fmt.Sprintf(
			"Day-of-month (%s) and Day-of-week (%s) cannot both be specified; use '?' in one of them", dom, dow)}
	}
	if dom != "?" && dom != "*" {
		c.domRestricted = true
		if err = c.parseDayOfMonth(specs[fDayOfMonth], dom); err != nil {
			return nil, err
		}
	}
	if dow != "?" && dow != "*" {
		c.dowRestricted = true
		if err = c.parseDayOfWeek(specs[fDayOfWeek], dow); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// parseValues parses a list of values, ranges and increments: "*", "5",
// "1-5", "MON-FRI", "0/15", "*/15", "10-50/20", "1,15,30". Ranges other
// than years may wrap around ("FRI-MON", "22-2").
func parseValues(f fieldSpec, s string) (bitset, *cronError) {
	var b bitset
	if s == "?" {
		return b, fieldErr(f, "'?' can only be used in the Day-of-month or Day-of-week field")
	}
	for _, part := range strings.Split(s, ",") {
		if err := addElement(&b, f, part); err != nil {
			return b, err
		}
	}
	return b, nil
}

func addElement(b *bitset, f fieldSpec, part string) *cronError {
	if part == "" {
		return fieldErr(f, "empty element in list")
	}
	rng, stepStr, hasStep := strings.Cut(part, "/")
	lo, hi := f.min, f.max
	switch {
	case rng == "*":
	case strings.Contains(rng, "?"):
		return fieldErr(f, "'?' cannot be combined with other values")
	default:
		a, z, isRange := strings.Cut(rng, "-")
		var err *cronError
		if lo, err = parseValue(f, a); err != nil {
			return err
		}
		hi = lo
		if isRange {
			if hi, err = parseValue(f, z); err != nil {
				return err
			}
		} else if hasStep {
			hi = f.max // "a/n" runs from a to the end of the field
		}
	}
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepStr)
		span := f.max - f.min + 1
		if err != nil || !isDigits(stepStr) {
			return fieldErr(f, "increment %q is not a number", stepStr)
		}
		if n < 1 || n > span {
			return fieldErr(f, "increment %d is out of range 1-%d", n, span)
		}
		step = n
	}
	if lo > hi && f.min == minYear {
		return fieldErr(f, "range %d-%d runs backwards", lo, hi)
	}
	// Walk from lo to hi, wrapping past max back to min when lo > hi.
	span := f.max - f.min + 1
	count := hi - lo
	if count < 0 {
		count += span
	}
	for i := 0; i <= count; i += step {
		v := lo + i
		if v > f.max {
			v -= span
		}
		b.set(v - yearBase(f))
	}
	return nil
}

// yearBase maps years onto bit positions 0..229.
func yearBase(f fieldSpec) int {
	if f.min == minYear {
		return minYear
	}
	return 0
}

// parseValue parses one number or name and checks its range.
func parseValue(f fieldSpec, s string) (int, *cronError) {
	if s == "" {
		return 0, fieldErr(f, "missing value")
	}
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	if !isDigits(s) {
		if f.names != nil {
			return 0, fieldErr(f, "%q is not a number %d-%d or a name %s-%s",
				s, f.min, f.max, f.names[0], f.names[len(f.names)-1])
		}
		return 0, fieldErr(f, "%q is not a number", s)
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < f.min || v > f.max {
		return 0, fieldErr(f, "value %s is out of range %d-%d", s, f.min, f.max)
	}
	return v, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// upperASCII upper-cases ASCII letters only, so that byte offsets into the
// result are offsets into s too.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// parseDayOfMonth parses the Day-of-month field; letters are matched
// case-insensitively and messages quote s as written.
func (c *cronSpec) parseDayOfMonth(f fieldSpec, s string) *cronError {
	u := upperASCII(s)
	special := strings.ContainsAny(u, "LW")
	if special && strings.Contains(s, ",") {
		return fieldErr(f, "'L' and 'W' cannot be combined with other days in a list")
	}
	switch {
	case u == "L":
		c.domKind = domLast
	case u == "LW":
		c.domKind = domLastWeekday
	case strings.HasPrefix(u, "L-"):
		n, err := strconv.Atoi(s[2:])
		if err != nil || !isDigits(s[2:]) || n > 30 {
			return fieldErr(f, "%q needs an offset 0-30 after 'L-'", s)
		}
		c.domKind, c.domN = domLast, n
	case strings.HasSuffix(u, "W"):
		d, err := parseValue(f, s[:len(s)-1])
		if err != nil {
			return fieldErr(f, "%q: 'W' needs a single day 1-31 before it", s)
		}
		c.domKind, c.domN = domNearest, d
	case special:
		return fieldErr(f, "%q: 'L' and 'W' are only valid as L, L-n, LW or nW", s)
	default:
		days, err := parseValues(f, s)
		if err != nil {
			return err
		}
		c.domKind, c.domDays = domValues, days
	}
	return nil
}

// parseDayOfWeek parses the Day-of-week field; letters are matched
// case-insensitively and messages quote s as written.
func (c *cronSpec) parseDayOfWeek(f fieldSpec, s string) *cronError {
	u := upperASCII(s)
	if strings.Contains(s, "#") {
		if strings.Contains(s, ",") {
			return fieldErr(f, "only one expression is allowed when '#' is used, found %q", s)
		}
		wd, k, _ := strings.Cut(s, "#")
		d, err := parseValue(f, wd)
		if err != nil {
			return err
		}
		n, convErr := strconv.Atoi(k)
		if convErr != nil || !isDigits(k) || n < 1 || n > 5 {
			return fieldErr(f, "%q: the occurrence after '#' must be 1-5", s)
		}
		c.dowKind, c.dowWd, c.dowK = dowNth, d, n
		return nil
	}
	if strings.Contains(u, "L") {
		switch {
		case strings.Contains(s, ","):
			return fieldErr(f, "'L' cannot be combined with other days in a list")
		case u == "L": // the last day of the week: Saturday
			c.dowKind = dowValues
			c.dowDays.set(7)
			return nil
		case !strings.HasSuffix(u, "L"):
			return fieldErr(f, "%q: 'L' is only valid alone or after a single day, as in 6L", s)
		}
		d, err := parseValue(f, s[:len(s)-1])
		if err != nil {
			return err
		}
		c.dowKind, c.dowWd = dowLast, d
		return nil
	}
	days, err := parseValues(f, s)
	if err != nil {
		return err
	}
	c.dowKind, c.dowDays = dowValues, days
	return nil
}

// dayMask returns the days of month m of year y that match, as bits 1..31.
func (c *cronSpec) dayMask(y, m int) uint64 {
	dim := daysIn(y, m)
	all := uint64(1)<<(dim+1) - 2
	switch {
	case c.domRestricted:
		return c.domMask(y, m, dim) & all
	case c.dowRestricted:
		return c.dowMask(y, m, dim) & all
	}
	return all
}

func (c *cronSpec) domMask(y, m, dim int) uint64 {
	switch c.domKind {
	case domLast:
		if d := dim - c.domN; d >= 1 {
			return 1 << d
		}
		return 0
	case domLastWeekday:
		d := dim
		switch weekday(y, m, d) {
		case 7: // Saturday
			d--
		case 1: // Sunday
			d -= 2
		}
		return 1 << d
	case domNearest:
		d := c.domN
		if d > dim {
			return 0
		}
		switch weekday(y, m, d) {
		case 7: // Saturday: the Friday before, unless that leaves the month
			if d == 1 {
				d = 3
			} else {
				d--
			}
		case 1: // Sunday: the Monday after, unless that leaves the month
			if d == dim {
				d -= 2
			} else {
				d++
			}
		}
		return 1 << d
	}
	return c.domDays[0]
}

func (c *cronSpec) dowMask(y, m, dim int) uint64 {
	wd1 := weekday(y, m, 1)
	firstOf := func(wd int) int { return 1 + (wd-wd1+7)%7 }
	switch c.dowKind {
	case dowLast:
		return 1 << (dim - (weekday(y, m, dim)-c.dowWd+7)%7)
	case dowNth:
		if d := firstOf(c.dowWd) + 7*(c.dowK-1); d <= dim {
			return 1 << d
		}
		return 0
	}
	var mask uint64
	for wd := 1; wd <= 7; wd++ {
		if c.dowDays.has(wd) {
			for d := firstOf(wd); d <= dim; d += 7 {
				mask |= 1 << d
			}
		}
	}
	return mask
}

// matchesWall reports whether the wall reading (seconds ignored) matches
// every field.
func (c *cronSpec) matchesWall(w wall) bool {
	return w.year >= minYear && w.year <= maxYear && c.years.has(w.year-minYear) &&
		c.months.has(w.month) && c.dayMask(w.year, w.month)&(1<<w.day) != 0 &&
		c.hours.has(w.hour) && c.minutes.has(w.minute)
}

// nextWall returns the first matching wall reading at or after w (seconds
// ignored), jumping field by field rather than minute by minute.
func (c *cronSpec) nextWall(w wall) (wall, bool) {
	y, mo, d, h, mi := w.year, w.month, w.day, w.hour, w.minute
	if y < minYear {
		y, mo, d, h, mi = minYear, 1, 1, 0, 0
	}
	for y <= maxYear {
		if ny := c.years.next(y-minYear) + minYear; ny != y {
			if ny < minYear {
				return wall{}, false
			}
			y, mo, d, h, mi = ny, 1, 1, 0, 0
		}
		nmo := c.months.next(mo)
		if nmo < 0 {
			y, mo, d, h, mi = y+1, 1, 1, 0, 0
			continue
		}
		if nmo != mo {
			mo, d, h, mi = nmo, 1, 0, 0
		}
		nd := nextBit(c.dayMask(y, mo), d)
		if nd < 0 {
			mo, d, h, mi = mo+1, 1, 0, 0
			continue
		}
		if nd != d {
			d, h, mi = nd, 0, 0
		}
		nh := c.hours.next(h)
		if nh < 0 || nh > 23 {
			d, h, mi = d+1, 0, 0
			continue
		}
		if nh != h {
			h, mi = nh, 0
		}
		nmi := c.minutes.next(mi)
		if nmi < 0 || nmi > 59 {
			h, mi = h+1, 0
			continue
		}
		return wall{y, mo, d, h, nmi, 0}, true
	}
	return wall{}, false
}

// prevWall returns the last matching wall reading at or before w (seconds
// ignored).
func (c *cronSpec) prevWall(w wall) (wall, bool) {
	y, mo, d, h, mi := w.year, w.month, w.day, w.hour, w.minute
	if y > maxYear {
		y, mo, d, h, mi = maxYear, 12, 31, 23, 59
	}
	for y >= minYear {
		if py := c.years.prev(y-minYear) + minYear; py != y {
			if py < minYear {
				return wall{}, false
			}
			y, mo, d, h, mi = py, 12, 31, 23, 59
		}
		pmo := c.months.prev(mo)
		if pmo < 1 {
			y, mo, d, h, mi = y-1, 12, 31, 23, 59
			continue
		}
		if pmo != mo {
			mo, d, h, mi = pmo, 31, 23, 59
		}
		pd := prevBit(c.dayMask(y, mo), d)
		if pd < 1 {
			mo, d, h, mi = mo-1, 31, 23, 59
			if mo < 1 {
				y, mo = y-1, 12
			}
			continue
		}
		if pd != d {
			d, h, mi = pd, 23, 59
		}
		ph := c.hours.prev(h)
		if ph < 0 {
			d, h, mi = d-1, 23, 59
			continue
		}
		if ph != h {
			h, mi = ph, 59
		}
		pmi := c.minutes.prev(mi)
		if pmi < 0 {
			h, mi = h-1, 59
			continue
		}
		return wall{y, mo, d, h, pmi, 0}, true
	}
	return wall{}, false
}

func nextBit(mask uint64, v int) int {
	if v > 63 {
		return -1
	}
	if v < 0 {
		v = 0
	}
	mask &= ^uint64(0) << v
	if mask == 0 {
		return -1
	}
	return bits.TrailingZeros64(mask)
}

func prevBit(mask uint64, v int) int {
	if v < 0 {
		return -1
	}
	if v < 63 {
		mask &= 1<<(v+1) - 1
	}
	if mask == 0 {
		return -1
	}
	return 63 - bits.LeadingZeros64(mask)
}

// next returns the first fire strictly after `after`. Each matching wall
// reading fires once, at its first instant; readings skipped by a DST gap
// do not fire.
func (c *cronSpec) next(after time.Time, loc *time.Location) (time.Time, bool) {
	w := wallOf(after.In(loc)).truncMinute().addMinutes(1)
	for {
		var ok bool
		if w, ok = c.nextWall(w); !ok {
			return time.Time{}, false
		}
		if t, exists := resolve(w, loc); exists && t.After(after) {
			return t, true
		}
		w = w.addMinutes(1)
	}
}

// prev returns the last fire at or before `before`.
func (c *cronSpec) prev(before time.Time, loc *time.Location) (time.Time, bool) {
	w := wallOf(before.In(loc)).truncMinute()
	// Just after clocks fell back, readings later than the current one may
	// already have happened (on the earlier offset); start above them.
	u := before.Unix()
	if extra := offsetAt(u-3*3600, loc) - offsetAt(u, loc); extra > 0 {
		w = wallFromUnix(w.unix() + extra).truncMinute()
	}
	for {
		var ok bool
		if w, ok = c.prevWall(w); !ok {
			return time.Time{}, false
		}
		if t, exists := resolve(w, loc); exists && !t.After(before) {
			return t, true
		}
		w = w.addMinutes(-1)
	}
}

// matches reports whether t is a fire instant.
func (c *cronSpec) matches(t time.Time, loc *time.Location) bool {
	lt := t.In(loc)
	w := wallOf(lt)
	if w.second != 0 || lt.Nanosecond() != 0 || !c.matchesWall(w) {
		return false
	}
	first, exists := resolve(w, loc)
	return exists && first.Equal(t)
}
