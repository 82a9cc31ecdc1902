package metrics

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"
)

// DefaultBasePeriod is the resolution at which datapoints are aggregated
// unless Options.BasePeriod says otherwise.
const DefaultBasePeriod = time.Minute

// Options configure a Store. The zero value is usable.
type Options struct {
	// BasePeriod is the finest resolution kept: 1, 5, 10, 20, 30 or 60
	// seconds. Zero means DefaultBasePeriod.
	BasePeriod time.Duration
	// Clock decides how old a query's start time is (and so which stored
	// resolution answers it) and what "recent" means for ListMetrics. Nil
	// means the system clock.
	Clock Clock
	// Logger receives flush failures from Run. Nil means slog.Default().
	Logger *slog.Logger
}

// Store records, aggregates, persists and answers queries about metric
// time series. Recent periods live in memory (the head); Flush moves
// completed periods to SQLite, where they are rolled up to coarser
// resolutions and expired as CloudWatch does.
//
// A Store is safe for concurrent use.
type Store struct {
	db     *sql.DB
	clock  Clock
	log    *slog.Logger
	period int64   // base period, seconds
	levels []level // finest first

	mu       sync.RWMutex
	series   map[string]*Series   // by identity and unit
	byMetric map[string][]*Series // by identity, every unit

	hookMu     sync.Mutex
	finalizers []func(now time.Time)

	// flushMu is held for writing while Flush moves data from the head to
	// the database, and for reading by queries, so that no query sees a
	// period both in the head and in the database, or in neither.
	flushMu sync.RWMutex
	retry   []pending // periods a failed flush could not write
	rolled  []int64   // per level: periods before this are rolled up (Unix s); 0 = never
}

type pending struct {
	s *Series
	b bucket
}

// level is one stored resolution and how long it is kept.
type level struct {
	res       int64 // seconds
	retention time.Duration
}

const day = 24 * time.Hour

// levelsFor returns CloudWatch's retention ladder for a base period:
// sub-minute data for 3 hours, 1-minute data for 15 days, 5-minute data
// for 63 days and 1-hour data for 455 days.
func levelsFor(base int64) []level {
	var ls []level
	if base < 60 {
		ls = append(ls, level{res: base, retention: 3 * time.Hour})
	}
	return append(ls,
		level{res: 60, retention: 15 * day},
		level{res: 300, retention: 63 * day},
		level{res: 3600, retention: 455 * day},
	)
}

const schema = `
CREATE TABLE IF NOT EXISTS metric_series (
	id        INTEGER PRIMARY KEY,
	namespace TEXT NOT NULL,
	name      TEXT NOT NULL,
	dims      TEXT NOT NULL,
	unit      TEXT NOT NULL,
	last_ts   INTEGER NOT NULL,
	UNIQUE (namespace, name, dims, unit)
);
CREATE INDEX IF NOT EXISTS metric_series_last ON metric_series (last_ts);
CREATE TABLE IF NOT EXISTS metric_points (
	series_id  INTEGER NOT NULL,
	resolution INTEGER NOT NULL,
	ts         INTEGER NOT NULL,
	count      REAL NOT NULL,
	sum        REAL NOT NULL,
	min        REAL NOT NULL,
	max        REAL NOT NULL,
	digest     BLOB NOT NULL,
	PRIMARY KEY (series_id, resolution, ts)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS metric_points_age ON metric_points (resolution, ts);
CREATE TABLE IF NOT EXISTS metric_rollups (
	resolution   INTEGER PRIMARY KEY,
	rolled_up_to INTEGER NOT NULL
);`

// Open prepares the metric tables in db (all prefixed metric_) and returns
// a Store using them. It does not take ownership of db.
func Open(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	base := opts.BasePeriod
	if base == 0 {
		base = DefaultBasePeriod
	}
	switch base {
	case time.Second, 5 * time.Second, 10 * time.Second, 20 * time.Second, 30 * time.Second, time.Minute:
	default:
		return nil, fmt.Errorf("metrics: base period %v: must be 1, 5, 10, 20, 30 or 60 seconds", base)
	}
	s := &Store{
		db:       db,
		clock:    opts.Clock,
		log:      opts.Logger,
		period:   int64(base / time.Second),
		series:   make(map[string]*Series),
		byMetric: make(map[string][]*Series),
	}
	if s.clock == nil {
		s.clock = systemClock{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.levels = levelsFor(s.period)
	s.rolled = make([]int64, len(s.levels))
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return nil, fmt.Errorf("metrics: create tables: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT resolution, rolled_up_to FROM metric_rollups`)
	if err != nil {
		return nil, fmt.Errorf("metrics: read rollup state: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var res, to int64
		if err := rows.Scan(&res, &to); err != nil {
			return nil, fmt.Errorf("metrics: read rollup state: %w", err)
		}
		for i, l := range s.levels {
			if l.res == res {
				s.rolled[i] = to
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metrics: read rollup state: %w", err)
	}
	return s, nil
}

// BasePeriod returns the finest resolution the store keeps.
func (s *Store) BasePeriod() time.Duration { return time.Duration(s.period) * time.Second }

// Series returns the handle for the series identified by namespace, metric
// name, dimensions (in any order) and unit, creating it on first use. An
// empty unit means UnitNone. Callers on a hot path should keep the handle.
func (s *Store) Series(namespace, name string, dims []Dimension, unit Unit) *Series {
	if unit == "" {
		unit = UnitNone
	}
	id := NewMetricID(namespace, name, dims)
	mk := id.key()
	key := mk + string(unit)
	s.mu.RLock()
	ser := s.series[key]
	s.mu.RUnlock()
	if ser != nil {
		return ser
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ser := s.series[key]; ser != nil {
		return ser
	}
	ser = &Series{id: id, unit: unit, key: key, period: s.period}
	s.series[key] = ser
	s.byMetric[mk] = append(s.byMetric[mk], ser)
	return ser
}

// onFlush registers fn to run at the start of every Flush.
func (s *Store) onFlush(fn func(now time.Time)) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.finalizers = append(s.finalizers, fn)
}

func (s *Store) allSeries() []*Series {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Series, 0, len(s.series))
	for _, ser := range s.series {
		out = append(out, ser)
	}
	return out
}

// Flush closes the periods that end at or before now: recorders attached
// to the store finalise their time-weighted metrics up to now, completed
// head periods are written to the database, and stored data is rolled up
// and expired. On a write error the data stays buffered for the next Flush.
func (s *Store) Flush(ctx context.Context, now time.Time) error {
	s.hookMu.Lock()
	fins := append([]func(time.Time){}, s.finalizers...)
	s.hookMu.Unlock()
	for _, fn := range fins {
		fn(now)
	}
	return s.flush(ctx, now.Unix(), now)
}

// Sync writes every buffered period to the database, including those not
// yet complete; data recorded later for the same periods is merged in by
// later flushes. Call it before shutting down.
func (s *Store) Sync(ctx context.Context) error {
	return s.flush(ctx, math.MaxInt64, time.Time{})
}

func (s *Store) flush(ctx context.Context, end int64, now time.Time) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	work := s.retry
	s.retry = nil
	for _, ser := range s.allSeries() {
		for _, b := range ser.takeComplete(end) {
			work = append(work, pending{s: ser, b: b})
		}
	}
	if len(work) > 0 {
		if err := s.write(ctx, work); err != nil {
			s.retry = work
			return fmt.Errorf("metrics: flush: %w", err)
		}
	}
	if now.IsZero() {
		return nil
	}
	if err := s.compact(ctx, now); err != nil {
		return fmt.Errorf("metrics: compact: %w", err)
	}
	return nil
}

// Run flushes on every tick until ctx is done or ticks is closed. Flush
// errors are logged; the data stays buffered and is retried.
func (s *Store) Run(ctx context.Context, ticks <-chan time.Time) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case t, ok := <-ticks:
			if !ok {
				return nil
			}
			if err := s.Flush(ctx, t); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				s.log.ErrorContext(ctx, "metrics flush failed", "err", err)
			}
		}
	}
}

// tx wraps the statements a flush or compaction runs in one transaction.
type tx struct {
	*sql.Tx
	upsertSeries *sql.Stmt
	getPoint     *sql.Stmt
	putPoint     *sql.Stmt
}

func (s *Store) begin(ctx context.Context) (*tx, error) {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = t.PrepareContext(ctx, q)
		return st
	}
	x := &tx{
		Tx: t,
		upsertSeries: prep(`INSERT INTO metric_series (namespace, name, dims, unit, last_ts) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (namespace, name, dims, unit) DO UPDATE SET last_ts = max(last_ts, excluded.last_ts)
			RETURNING id`),
		getPoint: prep(`SELECT count, sum, min, max, digest FROM metric_points WHERE series_id = ? AND resolution = ? AND ts = ?`),
		putPoint: prep(`INSERT OR REPLACE INTO metric_points (series_id, resolution, ts, count, sum, min, max, digest)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
	}
	if err != nil {
		t.Rollback()
		return nil, err
	}
	return x, nil
}

// mergePoint adds b into the stored period (id, res, b.ts).
func (s *Store) mergePoint(ctx context.Context, x *tx, id, res int64, b bucket) error {
	var cur bucket
	var blob []byte
	err := x.getPoint.QueryRowContext(ctx, id, res, b.ts).Scan(&cur.count, &cur.sum, &cur.min, &cur.max, &blob)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		cur = bucket{ts: b.ts}
	case err != nil:
		return err
	default:
		cur.ts = b.ts
		if cur.dg, err = unmarshalDigest(blob); err != nil {
			s.log.Warn("metrics: dropping unreadable percentile data", "series", id, "ts", b.ts, "err", err)
			cur.dg = digest{invalid: true}
		}
	}
	cur.merge(&b, rawCap)
	cur.dg.limitTo(rawCap)
	_, err = x.putPoint.ExecContext(ctx, id, res, cur.ts, cur.count, cur.sum, cur.min, cur.max, cur.dg.marshal())
	return err
}

// write stores head periods at the base resolution and, for periods that
// have already been rolled up, adds them to the coarser levels too.
func (s *Store) write(ctx context.Context, work []pending) (err error) {
	x, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			x.Rollback()
		}
	}()
	last := make(map[*Series]int64)
	for _, p := range work {
		if ts, ok := last[p.s]; !ok || p.b.ts > ts {
			last[p.s] = p.b.ts
		}
	}
	ids := make(map[*Series]int64, len(last))
	for ser, ts := range last {
		var id int64
		err := x.upsertSeries.QueryRowContext(ctx, ser.id.Namespace, ser.id.Name, ser.id.dimsText(), string(ser.unit), ts).Scan(&id)
		if err != nil {
			return fmt.Errorf("record series: %w", err)
		}
		ids[ser] = id
	}
	for _, p := range work {
		id := ids[p.s]
		if err := s.mergePoint(ctx, x, id, s.levels[0].res, p.b); err != nil {
			return fmt.Errorf("write period: %w", err)
		}
		for j := 1; j < len(s.levels) && p.b.ts < s.rolled[j-1]; j++ {
			b := p.b
			b.ts = floorTo(b.ts, s.levels[j].res)
			if err := s.mergePoint(ctx, x, id, s.levels[j].res, b); err != nil {
				return fmt.Errorf("write late period: %w", err)
			}
		}
	}
	return x.Commit()
}

// compact rolls stored data up and expires it according to planCompaction.
func (s *Store) compact(ctx context.Context, now time.Time) (err error) {
	metas := make([]levelMeta, len(s.levels))
	for i, l := range s.levels {
		metas[i] = levelMeta{
			Resolution: time.Duration(l.res) * time.Second,
			Retention:  l.retention,
		}
		if s.rolled[i] != 0 {
			metas[i].RolledUpTo = time.Unix(s.rolled[i], 0).UTC()
		}
		var oldest sql.NullInt64
		if err := s.db.QueryRowContext(ctx, `SELECT min(ts) FROM metric_points WHERE resolution = ?`, l.res).Scan(&oldest); err != nil {
			return fmt.Errorf("read level %ds: %w", l.res, err)
		}
		if oldest.Valid {
			metas[i].Oldest = time.Unix(oldest.Int64, 0).UTC()
		}
	}
	steps := planCompaction(metas, now)
	if len(steps) == 0 {
		return nil
	}
	x, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			x.Rollback()
		}
	}()
	rolled := append([]int64(nil), s.rolled...)
	for _, st := range steps {
		switch st.Kind {
		case stepRollup:
			if err := s.rollup(ctx, x, st.Level, st.From.Unix(), st.To.Unix()); err != nil {
				return fmt.Errorf("roll up %ds data: %w", s.levels[st.Level].res, err)
			}
			rolled[st.Level] = st.To.Unix()
		case stepDelete:
			if _, err := x.ExecContext(ctx, `DELETE FROM metric_points WHERE resolution = ? AND ts < ?`,
				s.levels[st.Level].res, st.Before.Unix()); err != nil {
				return fmt.Errorf("expire %ds data: %w", s.levels[st.Level].res, err)
			}
		}
	}
	top := s.levels[len(s.levels)-1]
	if _, err := x.ExecContext(ctx, `DELETE FROM metric_series WHERE last_ts < ?`, now.Add(-top.retention).Unix()); err != nil {
		return fmt.Errorf("expire series: %w", err)
	}
	if err := x.Commit(); err != nil {
		return err
	}
	s.rolled = rolled
	return nil
}

// rollup aggregates level i's periods in [from, to) into level i+1 and
// records the new watermark.
func (s *Store) rollup(ctx context.Context, x *tx, i int, from, to int64) error {
	res := s.levels[i+1].res
	if from < to {
		rows, err := x.QueryContext(ctx, `SELECT series_id, ts, count, sum, min, max, digest FROM metric_points
			WHERE resolution = ? AND ts >= ? AND ts < ? ORDER BY series_id, ts`, s.levels[i].res, from, to)
		if err != nil {
			return err
		}
		type key struct{ id, ts int64 }
		agg := make(map[key]*bucket)
		var order []key
		for rows.Next() {
			var id int64
			var b bucket
			var blob []byte
			if err := rows.Scan(&id, &b.ts, &b.count, &b.sum, &b.min, &b.max, &blob); err != nil {
				rows.Close()
				return err
			}
			if b.dg, err = unmarshalDigest(blob); err != nil {
				s.log.Warn("metrics: dropping unreadable percentile data", "series", id, "ts", b.ts, "err", err)
				b.dg = digest{invalid: true}
			}
			k := key{id, floorTo(b.ts, res)}
			a := agg[k]
			if a == nil {
				a = &bucket{ts: k.ts}
				agg[k] = a
				order = append(order, k)
			}
			a.merge(&b, rawCap)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, k := range order {
			if err := s.mergePoint(ctx, x, k.id, res, *agg[k]); err != nil {
				return err
			}
		}
	}
	_, err := x.ExecContext(ctx, `INSERT INTO metric_rollups (resolution, rolled_up_to) VALUES (?, ?)
		ON CONFLICT (resolution) DO UPDATE SET rolled_up_to = excluded.rolled_up_to`, s.levels[i].res, to)
	return err
}
