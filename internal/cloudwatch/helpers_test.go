package cloudwatch

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"hearth/internal/metrics"
)

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

// t0 is minute-aligned; tests run "now" a little after it.
var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

type testEnv struct {
	srv   *httptest.Server
	store *metrics.Store
	clock *fakeClock
	db    *sql.DB
	// seen records request headers the handler received, by header name.
	mu   sync.Mutex
	seen []http.Header
}

// newTestEnv serves the handler on loopback behind Match, as a gateway
// would, with a 1 s base period and a clock at t0 + 1h.
func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hearth.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := &fakeClock{now: t0.Add(time.Hour)}
	store, err := metrics.Open(context.Background(), db, metrics.Options{BasePeriod: time.Second, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{store: store, clock: clock, db: db}
	h := NewHandler(store, Options{Clock: clock, Account: "123456789012", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	env.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Match(r) {
			http.Error(w, "not CloudWatch", http.StatusNotFound)
			return
		}
		env.mu.Lock()
		env.seen = append(env.seen, r.Header.Clone())
		env.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(env.srv.Close)
	return env
}

func ptr[T any](v T) *T { return &v }
