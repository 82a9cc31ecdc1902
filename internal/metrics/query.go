package metrics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

var (
	// ErrPeriodTooFine reports a query period that is not a multiple of the
	// resolution stored for the age of its start time (base period up to
	// the base retention, then 60 s up to 15 days, 300 s up to 63 days,
	// 3600 s beyond). CloudWatch answers such queries with no datapoints.
	ErrPeriodTooFine = errors.New("metrics: period finer than the resolution stored for that time")
	// ErrInvalidQuery reports a malformed query: a period that is not a
	// positive whole number of seconds, or an end not after the start.
	ErrInvalidQuery = errors.New("metrics: invalid query")
)

// Query selects datapoints of one metric.
type Query struct {
	// Metric is the metric; its dimensions may be in any order.
	Metric MetricID
	// Unit restricts the answer to data recorded with that unit. Empty
	// means every unit, with one datapoint per unit and period.
	Unit Unit
	// Start is inclusive and is rounded down to the period grid: to the
	// period when it is shorter than a minute, else to the minute (or to
	// the stored resolution, for older data). End is exclusive.
	Start, End time.Time
	// Period is the length of each datapoint's period.
	Period time.Duration
	// Percentiles lists the percentiles (0–100) to compute per datapoint.
	Percentiles []float64
}

func (s *Store) levelFor(now, start int64) int {
	for i, l := range s.levels {
		if start >= now-int64(l.retention/time.Second) {
			return i
		}
	}
	return len(s.levels) - 1
}

type segment struct {
	level    int
	from, to int64
}

// segments splits [start, end) by the level that holds complete data for
// each part: level k up to the point where finer data has not been rolled
// up into it, then progressively finer levels.
func (s *Store) segments(k int, start, end int64) []segment {
	var segs []segment
	lo := start
	for j := k; j >= 0 && lo < end; j-- {
		top := end
		if j > 0 {
			top = min(end, s.rolled[j-1])
		}
		if lo < top {
			segs = append(segs, segment{level: j, from: lo, to: top})
			lo = top
		}
	}
	return segs
}

// Query returns the datapoints of q.Metric in [q.Start, q.End), one per
// period (and unit) that has data, in time order. Data still in memory and
// data in the database are merged.
func (s *Store) Query(ctx context.Context, q Query) ([]Datapoint, error) {
	if q.Period <= 0 || q.Period%time.Second != 0 {
		return nil, fmt.Errorf("%w: period %v is not a positive whole number of seconds", ErrInvalidQuery, q.Period)
	}
	if !q.End.After(q.Start) {
		return nil, fmt.Errorf("%w: end %v is not after start %v", ErrInvalidQuery, q.End, q.Start)
	}
	for _, p := range q.Percentiles {
		if !(p >= 0 && p <= 100) {
			return nil, fmt.Errorf("%w: percentile %v outside 0–100", ErrInvalidQuery, p)
		}
	}
	period := int64(q.Period / time.Second)
	now := s.clock.Now().Unix()
	k := s.levelFor(now, q.Start.Unix())
	res := s.levels[k].res
	if period%res != 0 {
		return nil, fmt.Errorf("%w: data from %v is kept at %ds, period is %ds",
			ErrPeriodTooFine, q.Start.UTC().Format(time.RFC3339), res, period)
	}
	align := max(res, min(period, 60))
	start := floorTo(q.Start.Unix(), align)
	end := q.End.Unix()
	if q.End.Nanosecond() != 0 {
		end++
	}
	metric := NewMetricID(q.Metric.Namespace, q.Metric.Name, q.Metric.Dimensions)

	type slotKey struct {
		unit Unit
		slot int64
	}
	agg := make(map[slotKey]*bucket)
	add := func(unit Unit, b bucket) {
		if b.ts < start || b.ts >= end || b.count == 0 {
			return
		}
		key := slotKey{unit, (b.ts - start) / period}
		if a := agg[key]; a != nil {
			a.merge(&b, -1)
			return
		}
		b.ts = start + key.slot*period
		agg[key] = &b
	}
	unitOK := func(u Unit) bool { return q.Unit == "" || q.Unit == u }

	s.flushMu.RLock()
	defer s.flushMu.RUnlock()
	if err := s.queryStored(ctx, metric, unitOK, s.segments(k, start, end), add); err != nil {
		return nil, err
	}
	mk := metric.key()
	for _, p := range s.retry {
		if p.s.id.key() == mk && unitOK(p.s.unit) {
			add(p.s.unit, p.b)
		}
	}
	s.mu.RLock()
	head := slices.Clone(s.byMetric[mk])
	s.mu.RUnlock()
	for _, ser := range head {
		if unitOK(ser.unit) {
			for _, b := range ser.snapshot(start, end) {
				add(ser.unit, b)
			}
		}
	}

	keys := make([]slotKey, 0, len(agg))
	for k := range agg {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b slotKey) int {
		if c := cmp.Compare(a.slot, b.slot); c != 0 {
			return c
		}
		return strings.Compare(string(a.unit), string(b.unit))
	})
	out := make([]Datapoint, len(keys))
	for i, key := range keys {
		b := agg[key]
		out[i] = Datapoint{
			Timestamp:   time.Unix(b.ts, 0).UTC(),
			Unit:        key.unit,
			SampleCount: b.count,
			Sum:         b.sum,
			Minimum:     b.min,
			Maximum:     b.max,
		}
		if len(q.Percentiles) > 0 {
			out[i].Percentiles = b.dg.quantiles(q.Percentiles, b.min, b.max)
		}
	}
	return out, nil
}

func (s *Store) queryStored(ctx context.Context, m MetricID, unitOK func(Unit) bool, segs []segment, add func(Unit, bucket)) error {
	if len(segs) == 0 {
		return nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, unit FROM metric_series WHERE namespace = ? AND name = ? AND dims = ?`,
		m.Namespace, m.Name, m.dimsText())
	if err != nil {
		return fmt.Errorf("metrics: query series: %w", err)
	}
	type idUnit struct {
		id   int64
		unit Unit
	}
	var ids []idUnit
	for rows.Next() {
		var x idUnit
		if err := rows.Scan(&x.id, &x.unit); err != nil {
			rows.Close()
			return fmt.Errorf("metrics: query series: %w", err)
		}
		if unitOK(x.unit) {
			ids = append(ids, x)
		}
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("metrics: query series: %w", err)
	}
	for _, x := range ids {
		for _, seg := range segs {
			if err := s.queryPoints(ctx, x.id, s.levels[seg.level].res, seg.from, seg.to, func(b bucket) { add(x.unit, b) }); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) queryPoints(ctx context.Context, id, res, from, to int64, fn func(bucket)) error {
	rows, err := s.db.QueryContext(ctx, `SELECT ts, count, sum, min, max, digest FROM metric_points
		WHERE series_id = ? AND resolution = ? AND ts >= ? AND ts < ?`, id, res, from, to)
	if err != nil {
		return fmt.Errorf("metrics: query points: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b bucket
		var blob []byte
		if err := rows.Scan(&b.ts, &b.count, &b.sum, &b.min, &b.max, &blob); err != nil {
			return fmt.Errorf("metrics: query points: %w", err)
		}
		if b.dg, err = unmarshalDigest(blob); err != nil {
			b.dg = digest{invalid: true}
		}
		fn(b)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("metrics: query points: %w", err)
	}
	return nil
}

// DimensionFilter matches metrics having a dimension with this name and,
// unless Value is empty, this value.
type DimensionFilter struct {
	Name  string
	Value string
}

// MetricFilter selects metrics for ListMetrics. Empty fields match anything.
type MetricFilter struct {
	Namespace  string
	MetricName string
	Dimensions []DimensionFilter
	// ActiveSince keeps metrics with data in a period starting at or after
	// it. Zero means two weeks before now, as CloudWatch does.
	ActiveSince time.Time
}

func (f MetricFilter) match(m MetricID) bool {
	if f.Namespace != "" && f.Namespace != m.Namespace {
		return false
	}
	if f.MetricName != "" && f.MetricName != m.Name {
		return false
	}
	for _, df := range f.Dimensions {
		if !slices.ContainsFunc(m.Dimensions, func(d Dimension) bool {
			return d.Name == df.Name && (df.Value == "" || d.Value == df.Value)
		}) {
			return false
		}
	}
	return true
}

// ListMetrics returns the metrics matching f, sorted by namespace, name and
// dimensions, each once whatever units it was recorded with.
func (s *Store) ListMetrics(ctx context.Context, f MetricFilter) ([]MetricID, error) {
	since := f.ActiveSince
	if since.IsZero() {
		since = s.clock.Now().Add(-14 * day)
	}
	// A period starting before since may still hold data after it.
	cut := since.Unix() - s.period + 1
	found := make(map[string]MetricID)
	query := `SELECT namespace, name, dims FROM metric_series WHERE last_ts >= ?`
	args := []any{cut}
	if f.Namespace != "" {
		query += ` AND namespace = ?`
		args = append(args, f.Namespace)
	}
	if f.MetricName != "" {
		query += ` AND name = ?`
		args = append(args, f.MetricName)
	}
	s.flushMu.RLock()
	defer s.flushMu.RUnlock()
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("metrics: list metrics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m MetricID
		var dims string
		if err := rows.Scan(&m.Namespace, &m.Name, &dims); err != nil {
			return nil, fmt.Errorf("metrics: list metrics: %w", err)
		}
		if m.Dimensions, err = parseDimsText(dims); err != nil {
			return nil, fmt.Errorf("metrics: list metrics: %w: %w", ErrCorrupt, err)
		}
		if f.match(m) {
			found[m.key()] = m
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metrics: list metrics: %w", err)
	}
	for _, p := range s.retry {
		if p.b.ts >= cut && f.match(p.s.id) {
			found[p.s.id.key()] = p.s.id
		}
	}
	for _, ser := range s.allSeries() {
		if last := ser.lastData(); last != 0 && last >= cut && f.match(ser.id) {
			found[ser.id.key()] = ser.id
		}
	}
	out := make([]MetricID, 0, len(found))
	for _, m := range found {
		out = append(out, m)
	}
	slices.SortFunc(out, compareMetricIDs)
	return out, nil
}
