package logs_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	_ "modernc.org/sqlite"

	"hearth/internal/clock"
	"hearth/internal/gateway"
	"hearth/internal/logs"
)

// t0 is when every test's fake clock starts.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	region  = "us-east-1"
	account = "123456789012"
)

type env struct {
	clock  *clock.Fake
	store  *logs.Store
	srv    *httptest.Server
	client *cloudwatchlogs.Client
}

func openDB(t testing.TB) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hearth.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// newEnv serves a Store's API through the real gateway on loopback, with
// a fake clock at t0, and returns an aws-sdk-go-v2 client for it.
func newEnv(t testing.TB, opts logs.Options) *env {
	t.Helper()
	e := &env{clock: clock.NewFake(t0)}
	if opts.Clock == nil {
		opts.Clock = e.clock
	}
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := logs.Open(context.Background(), openDB(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.store = st
	gw := gateway.New(gateway.Options{Logs: gateway.LogsOps(logs.NewService(st, region, account))})
	gw.SetReady(true)
	e.srv = httptest.NewServer(gw)
	t.Cleanup(e.srv.Close)
	e.client = cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:           region,
		BaseEndpoint:     aws.String(e.srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:       e.srv.Client(),
		RetryMaxAttempts: 1,
	})
	return e
}

// write writes text to group/stream at the clock's current time and waits
// until it is stored.
func (e *env) write(t testing.TB, group, stream, text string) {
	t.Helper()
	w := e.store.NewStreamWriter(group, stream)
	if _, err := io.WriteString(w, text); err != nil {
		t.Fatal(err)
	}
	w.Close()
	e.flush(t)
}

func (e *env) flush(t testing.TB) {
	t.Helper()
	if err := e.store.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func ms(t time.Time) int64 { return t.UnixMilli() }
