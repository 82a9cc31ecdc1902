package metrics

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// t0 is a convenient, minute- and hour-aligned start time.
var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newTestStore(t testing.TB, base time.Duration, clock Clock) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hearth.db")
	s, err := Open(context.Background(), openDB(t, path), Options{BasePeriod: base, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

func query(t testing.TB, s *Store, q Query) []Datapoint {
	t.Helper()
	dps, err := s.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	return dps
}
