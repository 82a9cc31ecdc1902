package logs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"hearth/internal/clock"
)

// Defaults for Options' zero values.
const (
	DefaultMaxGroupBytes = 64 << 20
	DefaultQueueBytes    = 8 << 20
	DefaultFlushInterval = 200 * time.Millisecond
	// eventOverhead is what CloudWatch Logs adds to a message's length
	// when it sizes an event.
	eventOverhead = 26
	// MaxMessageBytes is the longest message one event holds (CloudWatch
	// Logs' 256 KiB event limit less the overhead); longer lines are split.
	MaxMessageBytes = 256<<10 - eventOverhead
	// sweepEvery is how often the appender deletes expired events (on the
	// Store's clock).
	sweepEvery = time.Hour
)

// Options configure a Store. The zero value is usable.
type Options struct {
	// Clock stamps every line and decides what retention has expired. Nil
	// means the wall clock.
	Clock clock.Clock
	// Logger receives write failures and dropped-line warnings. Nil means
	// slog.Default().
	Logger *slog.Logger
	// MaxGroupBytes bounds the events one group keeps; the oldest go
	// first. Zero means DefaultMaxGroupBytes.
	MaxGroupBytes int64
	// QueueBytes bounds the lines waiting to be written; past it lines are
	// dropped and counted. Zero means DefaultQueueBytes.
	QueueBytes int64
	// FlushInterval is the least time between two writes to the database
	// (each is a synced transaction). Zero means DefaultFlushInterval.
	FlushInterval time.Duration
}

// Event is one log line.
type Event struct {
	Group, Stream string
	Time          int64 // Unix milliseconds, when the line arrived
	Message       string
}

func (e *Event) size() int64 { return int64(len(e.Message)) + eventOverhead }

// Store keeps log groups, streams and events in SQLite and ingests lines
// through a bounded queue written by one appender goroutine. It is safe
// for concurrent use.
type Store struct {
	db       *sql.DB
	clock    clock.Clock
	log      *slog.Logger
	maxGroup int64
	maxQueue int64
	interval time.Duration

	mu      sync.Mutex
	pending []Event
	spare   []Event // the previous batch's slice, for the next one
	queued  int64   // bytes in pending
	closed  bool
	dropped atomic.Uint64

	wake    chan struct{} // something was queued
	due     chan struct{} // the pacing timer fired
	flushes chan chan error
	stop    chan struct{}
	done    chan struct{}
}

// Open creates the log tables in db if needed and starts the appender.
// Close stops it.
func Open(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	s := &Store{
		db:       db,
		clock:    opts.Clock,
		log:      opts.Logger,
		maxGroup: opts.MaxGroupBytes,
		maxQueue: opts.QueueBytes,
		interval: opts.FlushInterval,
		wake:     make(chan struct{}, 1),
		due:      make(chan struct{}, 1),
		flushes:  make(chan chan error),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxGroup <= 0 {
		s.maxGroup = DefaultMaxGroupBytes
	}
	if s.maxQueue <= 0 {
		s.maxQueue = DefaultQueueBytes
	}
	if s.interval <= 0 {
		s.interval = DefaultFlushInterval
	}
	const schema = `
CREATE TABLE IF NOT EXISTS log_groups (
	name      TEXT PRIMARY KEY,
	created   INTEGER NOT NULL,
	retention INTEGER,
	bytes     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS log_streams (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	grp            TEXT NOT NULL,
	name           TEXT NOT NULL,
	created        INTEGER NOT NULL,
	first_event    INTEGER NOT NULL,
	last_event     INTEGER NOT NULL,
	last_ingestion INTEGER NOT NULL,
	UNIQUE (grp, name)
);
CREATE TABLE IF NOT EXISTS log_chunks (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	grp      TEXT NOT NULL,
	stream   INTEGER NOT NULL,
	first_ts INTEGER NOT NULL,
	last_ts  INTEGER NOT NULL,
	ingested INTEGER NOT NULL,
	bytes    INTEGER NOT NULL,
	data     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS log_chunks_stream ON log_chunks (stream, id);
CREATE INDEX IF NOT EXISTS log_chunks_group ON log_chunks (grp, first_ts);`
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return nil, fmt.Errorf("logs: create tables: %w", err)
	}
	if err := s.Expire(ctx); err != nil {
		return nil, err
	}
	go s.run()
	return s, nil
}

// Dropped reports how many lines were dropped because the queue was full
// or the Store closed.
func (s *Store) Dropped() uint64 { return s.dropped.Load() }

// enqueue queues events without blocking; what does not fit is dropped.
func (s *Store) enqueue(evs []Event) {
	s.mu.Lock()
	for i := range evs {
		sz := evs[i].size()
		if s.closed || s.queued+sz > s.maxQueue {
			s.dropped.Add(1)
			continue
		}
		s.pending = append(s.pending, evs[i])
		s.queued += sz
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// urgent reports whether the queue is half full, so the appender should
// not wait out its interval.
func (s *Store) urgent() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queued*2 >= s.maxQueue
}

func (s *Store) take() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	evs := s.pending
	s.pending, s.spare, s.queued = s.spare[:0], nil, 0
	return evs
}

// recycle hands a written batch's slice back for reuse.
func (s *Store) recycle(evs []Event) {
	clear(evs) // let the messages go
	s.mu.Lock()
	if s.spare == nil && cap(evs) <= 1<<16 {
		s.spare = evs[:0]
	}
	s.mu.Unlock()
}

// Flush writes everything queued so far and returns when it is stored.
func (s *Store) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case s.flushes <- reply:
	case <-s.done:
		return errors.New("logs: store closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued, stops the appender and drops any line
// written afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	return nil
}

// run is the appender.
func (s *Store) run() {
	defer close(s.done)
	ctx := context.Background()
	var last time.Time
	timerSet := false
	sweep := make(chan struct{}, 1)
	arm := func() clock.Timer {
		return s.clock.AfterFunc(sweepEvery, func() {
			select {
			case sweep <- struct{}{}:
			default:
			}
		})
	}
	sweepTimer := arm()
	defer func() { sweepTimer.Stop() }()
	var reported uint64
	write := func() error {
		evs := s.take()
		last = s.clock.Now()
		if d := s.dropped.Load(); d != reported {
			s.log.Warn("log lines dropped: the queue was full", "dropped_total", d)
			reported = d
		}
		if len(evs) == 0 {
			return nil
		}
		err := s.append(ctx, evs, last)
		s.recycle(evs)
		if err != nil {
			s.log.Error("write log events", "events", len(evs), "err", err)
		}
		return err
	}
	for {
		select {
		case <-s.wake:
			if wait := s.interval - s.clock.Now().Sub(last); wait > 0 && !s.urgent() {
				if !timerSet {
					timerSet = true
					s.clock.AfterFunc(wait, func() {
						select {
						case s.due <- struct{}{}:
						default:
						}
					})
				}
				continue
			}
			_ = write()
		case <-s.due:
			timerSet = false
			_ = write()
		case reply := <-s.flushes:
			reply <- write()
		case <-sweep:
			if err := s.Expire(ctx); err != nil {
				s.log.Error("expire log events", "err", err)
			}
			sweepTimer = arm()
		case <-s.stop:
			_ = write()
			return
		}
	}
}

// append writes evs in one transaction, creating groups and streams as
// needed, then trims any group past its bound. Each stream's events
// become one chunk (more if they are many).
func (s *Store) append(ctx context.Context, evs []Event, now time.Time) error {
	ingested := now.UnixMilli()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	type key struct{ g, s string }
	var order []key
	byStream := map[key][]Event{}
	for _, e := range evs {
		k := key{e.Group, e.Stream}
		if _, ok := byStream[k]; !ok {
			order = append(order, k)
		}
		byStream[k] = append(byStream[k], e)
	}
	groups := map[string]bool{}
	for _, k := range order {
		sevs := byStream[k]
		var size, first, last int64 = 0, sevs[0].Time, sevs[0].Time
		for i := range sevs {
			size += sevs[i].size()
			first, last = min(first, sevs[i].Time), max(last, sevs[i].Time)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO log_groups (name, created, bytes) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET bytes = bytes + excluded.bytes`, k.g, ingested, size); err != nil {
			return fmt.Errorf("update group %q: %w", k.g, err)
		}
		var sid int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO log_streams (grp, name, created, first_event, last_event, last_ingestion) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (grp, name) DO UPDATE SET first_event = min(first_event, excluded.first_event),
	last_event = max(last_event, excluded.last_event), last_ingestion = excluded.last_ingestion
RETURNING id`, k.g, k.s, ingested, first, last, ingested).Scan(&sid); err != nil {
			return fmt.Errorf("update stream %q: %w", k.s, err)
		}
		for len(sevs) > 0 {
			n, payload := 0, 0
			for n < len(sevs) && n < maxChunkEvents && (n == 0 || payload+len(sevs[n].Message) <= maxChunkPayload) {
				payload += len(sevs[n].Message)
				n++
			}
			chunk := sevs[:n]
			sevs = sevs[n:]
			var bytes int64
			for i := range chunk {
				bytes += chunk[i].size()
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO log_chunks (grp, stream, first_ts, last_ts, ingested, bytes, data) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				k.g, sid, chunk[0].Time, chunk[len(chunk)-1].Time, ingested, bytes, encodeChunk(chunk)); err != nil {
				return fmt.Errorf("insert events: %w", err)
			}
		}
		groups[k.g] = true
	}
	for g := range groups {
		if err := s.trim(ctx, tx, g); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// trim drops group g's oldest chunks once it holds more than the bound,
// until it is back under nine tenths of it.
func (s *Store) trim(ctx context.Context, tx *sql.Tx, g string) error {
	var total int64
	if err := tx.QueryRowContext(ctx, `SELECT bytes FROM log_groups WHERE name = ?`, g).Scan(&total); err != nil {
		return fmt.Errorf("group size %q: %w", g, err)
	}
	if total <= s.maxGroup {
		return nil
	}
	excess := total - s.maxGroup*9/10
	rows, err := tx.QueryContext(ctx, `SELECT id, bytes FROM log_chunks WHERE grp = ? ORDER BY id`, g)
	if err != nil {
		return fmt.Errorf("trim %q: %w", g, err)
	}
	var cut, freed int64
	for freed < excess && rows.Next() {
		var n int64
		if err := rows.Scan(&cut, &n); err != nil {
			rows.Close()
			return fmt.Errorf("trim %q: %w", g, err)
		}
		freed += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("trim %q: %w", g, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM log_chunks WHERE grp = ? AND id <= ?`, g, cut); err != nil {
		return fmt.Errorf("trim %q: %w", g, err)
	}
	return s.resize(ctx, tx, g)
}

// resize recounts group g's stored bytes.
func (s *Store) resize(ctx context.Context, tx *sql.Tx, g string) error {
	_, err := tx.ExecContext(ctx, `UPDATE log_groups SET bytes = (SELECT coalesce(sum(bytes), 0) FROM log_chunks WHERE grp = ?) WHERE name = ?`, g, g)
	if err != nil {
		return fmt.Errorf("size %q: %w", g, err)
	}
	return nil
}

// Expire deletes the chunks whose every event each group's retention no
// longer keeps (reads hide the rest).
func (s *Store) Expire(ctx context.Context) error {
	now := s.clock.Now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("logs: expire: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	rows, err := tx.QueryContext(ctx, `SELECT name, retention FROM log_groups WHERE retention IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("logs: expire: %w", err)
	}
	type policy struct {
		name string
		days int64
	}
	var ps []policy
	for rows.Next() {
		var p policy
		if err := rows.Scan(&p.name, &p.days); err != nil {
			rows.Close()
			return fmt.Errorf("logs: expire: %w", err)
		}
		ps = append(ps, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("logs: expire: %w", err)
	}
	for _, p := range ps {
		res, err := tx.ExecContext(ctx, `DELETE FROM log_chunks WHERE grp = ? AND last_ts < ?`, p.name, cutoff(now, p.days))
		if err != nil {
			return fmt.Errorf("logs: expire %q: %w", p.name, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			if err := s.resize(ctx, tx, p.name); err != nil {
				return err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("logs: expire: %w", err)
	}
	return nil
}

// cutoff is the oldest event time (Unix ms) a retention of days keeps.
func cutoff(now time.Time, days int64) int64 {
	return now.Add(-time.Duration(days) * 24 * time.Hour).UnixMilli()
}
