package metrics

import (
	"math"
	"sync"
	"time"
)

// bucket is the aggregate of one series over one period at some resolution.
type bucket struct {
	ts    int64 // period start, Unix seconds
	count float64
	sum   float64
	min   float64
	max   float64
	dg    digest
}

// merge adds o into b; exact digest values stay exact up to limit (< 0: unbounded).
func (b *bucket) merge(o *bucket, limit int) {
	if o.count == 0 {
		return
	}
	if b.count == 0 {
		b.min, b.max = o.min, o.max
	} else {
		b.min = math.Min(b.min, o.min)
		b.max = math.Max(b.max, o.max)
	}
	b.count += o.count
	b.sum += o.sum
	b.dg.merge(o.dg, limit)
}

// acc accumulates one head period of a series. It is reused after flushing.
type acc struct {
	idx   int64 // period index: start = idx × base period
	count float64
	sum   float64
	min   float64
	max   float64
	sk    sketch
}

func (a *acc) reset(idx int64) {
	a.idx = idx
	a.count, a.sum, a.min, a.max = 0, 0, 0, 0
	a.sk.reset()
}

func (a *acc) add(v, w float64) {
	if a.count == 0 {
		a.min, a.max = v, v
	} else {
		if v < a.min {
			a.min = v
		}
		if v > a.max {
			a.max = v
		}
	}
	a.count += w
	a.sum += v * w
	a.sk.add(v, w)
}

func (a *acc) addSet(s StatisticSet) {
	if a.count == 0 {
		a.min, a.max = s.Minimum, s.Maximum
	} else {
		a.min = math.Min(a.min, s.Minimum)
		a.max = math.Max(a.max, s.Maximum)
	}
	a.count += s.SampleCount
	a.sum += s.Sum
	switch {
	case s.Minimum != s.Maximum:
		a.sk.invalid = true
	case s.Sum != s.Minimum*s.SampleCount:
		a.sk.invalid = true
	default:
		a.sk.add(s.Minimum, s.SampleCount)
	}
}

func (a *acc) freeze(period int64) bucket {
	return bucket{ts: a.idx * period, count: a.count, sum: a.sum, min: a.min, max: a.max, dg: a.sk.digest()}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// maxFree bounds the accumulators a series keeps for reuse.
const maxFree = 2

// Series is a handle on one metric time series (metric identity and unit).
// Resolve it once with Store.Series and keep it: Add is the hot path and
// neither allocates nor touches the database.
type Series struct {
	id     MetricID
	unit   Unit
	key    string // identity including unit
	period int64  // base period, seconds

	mu   sync.Mutex
	cur  *acc   // most recent period; nil when none is open
	open []*acc // other unflushed periods (late or future data)
	free []*acc
	last int64 // latest period start that received data, Unix seconds; 0 if none

	// Guarded by Store.flushMu.
	dbID int64
}

// Metric returns the series' metric identity.
func (s *Series) Metric() MetricID { return s.id }

// Unit returns the unit recorded with every datapoint of the series.
func (s *Series) Unit() Unit { return s.unit }

// Add records one observation of v at t. NaN and infinite values are
// ignored.
func (s *Series) Add(t time.Time, v float64) {
	if !finite(v) {
		return
	}
	idx := floorDiv(t.Unix(), s.period)
	s.mu.Lock()
	s.slot(idx).add(v, 1)
	s.mu.Unlock()
}

// AddStatistics records a pre-aggregated statistic set at t. Sets with a
// SampleCount ≤ 0 or a non-finite field are ignored. Percentiles over the period become
// unavailable unless the set's minimum equals its maximum.
func (s *Series) AddStatistics(t time.Time, set StatisticSet) {
	if !(set.SampleCount > 0) || !finite(set.SampleCount) || !finite(set.Sum) ||
		!finite(set.Minimum) || !finite(set.Maximum) {
		return
	}
	idx := floorDiv(t.Unix(), s.period)
	s.mu.Lock()
	s.slot(idx).addSet(set)
	s.mu.Unlock()
}

// AddValues records values[i] observed counts[i] times at t (once each
// when counts is nil). Entries with a count ≤ 0, or anything not finite,
// are ignored. counts, when not nil, must be as long as values.
func (s *Series) AddValues(t time.Time, values, counts []float64) {
	idx := floorDiv(t.Unix(), s.period)
	s.mu.Lock()
	a := s.slot(idx)
	for i, v := range values {
		w := 1.0
		if counts != nil {
			w = counts[i]
		}
		if w > 0 && finite(w) && finite(v) {
			a.add(v, w)
		}
	}
	s.mu.Unlock()
}

// slot returns the accumulator for period idx. s.mu must be held.
func (s *Series) slot(idx int64) *acc {
	if c := s.cur; c != nil && c.idx == idx {
		return c
	}
	if ts := idx * s.period; ts > s.last {
		s.last = ts
	}
	for _, a := range s.open {
		if a.idx == idx {
			return a
		}
	}
	var a *acc
	if n := len(s.free); n > 0 {
		a = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		a = new(acc)
	}
	a.reset(idx)
	switch {
	case s.cur == nil:
		s.cur = a
	case idx > s.cur.idx:
		s.open = append(s.open, s.cur)
		s.cur = a
	default:
		s.open = append(s.open, a)
	}
	return a
}

// takeComplete removes and returns every head period that ends at or
// before end (Unix seconds).
func (s *Series) takeComplete(end int64) []bucket {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []bucket
	keep := s.open[:0]
	for _, a := range s.open {
		if (a.idx+1)*s.period <= end {
			if a.count > 0 {
				out = append(out, a.freeze(s.period))
			}
			s.release(a)
		} else {
			keep = append(keep, a)
		}
	}
	clear(s.open[len(keep):])
	s.open = keep
	if c := s.cur; c != nil && (c.idx+1)*s.period <= end {
		if c.count > 0 {
			out = append(out, c.freeze(s.period))
		}
		s.release(c)
		s.cur = nil
	}
	return out
}

func (s *Series) release(a *acc) {
	if len(s.free) < maxFree {
		s.free = append(s.free, a)
	}
}

// snapshot returns copies of the head periods starting in [from, to).
func (s *Series) snapshot(from, to int64) []bucket {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []bucket
	visit := func(a *acc) {
		if ts := a.idx * s.period; ts >= from && ts < to && a.count > 0 {
			out = append(out, a.freeze(s.period))
		}
	}
	if s.cur != nil {
		visit(s.cur)
	}
	for _, a := range s.open {
		visit(a)
	}
	return out
}

func (s *Series) lastData() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}
