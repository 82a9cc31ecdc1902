// Package store is Hearth's durable state: an embedded SQLite database
// (pure Go, no cgo) under the data directory holding every resource the APIs
// create — models, endpoint configs, endpoints, scaling targets and the rest —
// as JSON documents keyed by kind and name. Every change runs in a
// transaction that is synced to disk before it is acknowledged, so a process
// killed at any moment loses nothing a client was told had succeeded.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Kind names a resource type; it is part of every key.
type Kind string

// Resource kinds stored by the control plane and auto scaling.
const (
	KindModel          Kind = "model"
	KindEndpointConfig Kind = "endpoint-config"
	KindEndpoint       Kind = "endpoint"
)

// ErrNotFound is returned by Get when no document has the key.
var ErrNotFound = errors.New("store: not found")

// Store is the database. It is safe for concurrent use.
type Store struct {
	db  *sql.DB
	log *slog.Logger
}

// SetLogger sets where the store reports records it had to skip.
func (s *Store) SetLogger(l *slog.Logger) { s.log = l }

// Open opens (creating if needed) the database in dir.
func Open(ctx context.Context, dir string) (*Store, error) {
	// The data dir and database are the server user's alone: models'
	// Environment, often secrets, is stored here.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("restrict data dir: %w", err)
	}
	path := filepath.Join(dir, "hearth.db")
	// SQLite gives the -wal and -shm files the database file's mode, so
	// the database is created (or tightened) to 0600 first.
	if err := restrictFile(path); err != nil {
		return nil, err
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// One connection: SQLite serialises writers anyway, and a single
	// connection avoids SQLITE_BUSY between our own goroutines.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, log: slog.New(slog.DiscardHandler)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	for _, side := range []string{path + "-wal", path + "-shm"} {
		if err := os.Chmod(side, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			db.Close()
			return nil, fmt.Errorf("restrict %s: %w", side, err)
		}
	}
	return s, nil
}

// restrictFile creates path with mode 0600 if it does not exist, and
// takes any other permission from it if it does.
func restrictFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("restrict %s: %w", path, err)
	}
	return nil
}

// DB exposes the underlying database so that other packages can keep their
// own tables (metrics history) in the same file.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) migrate(ctx context.Context) error {
	const schema = `
CREATE TABLE IF NOT EXISTS resources (
	kind    TEXT NOT NULL,
	key     TEXT NOT NULL,
	name    TEXT NOT NULL,
	created INTEGER NOT NULL,
	doc     BLOB NOT NULL,
	PRIMARY KEY (kind, key)
);`
	if _, err := s.db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Key normalises a resource name into its key: AWS ARNs carry names
// lower-cased, so names differing only in case are the same resource.
func Key(name string) string { return strings.ToLower(name) }

// Tx is a transaction; its methods must not be used after the function
// given to Update or View returns.
type Tx struct {
	tx  *sql.Tx
	ctx context.Context
	log *slog.Logger
}

// Update runs fn in a read-write transaction, committed if fn returns nil.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&Tx{tx: tx, ctx: ctx, log: s.log}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// View runs fn in a read-only transaction.
func (s *Store) View(ctx context.Context, fn func(*Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	return fn(&Tx{tx: tx, ctx: ctx, log: s.log})
}

// Get decodes the document kind/name into v, or returns ErrNotFound.
func (t *Tx) Get(kind Kind, name string, v any) error {
	var doc []byte
	err := t.tx.QueryRowContext(t.ctx, `SELECT doc FROM resources WHERE kind = ? AND key = ?`, string(kind), Key(name)).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("get %s %q: %w", kind, name, err)
	}
	if err := json.Unmarshal(doc, v); err != nil {
		return fmt.Errorf("decode %s %q: %w", kind, name, err)
	}
	return nil
}

// Exists reports whether kind/name is stored.
func (t *Tx) Exists(kind Kind, name string) (bool, error) {
	var n int
	err := t.tx.QueryRowContext(t.ctx, `SELECT count(*) FROM resources WHERE kind = ? AND key = ?`, string(kind), Key(name)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("exists %s %q: %w", kind, name, err)
	}
	return n > 0, nil
}

// Put stores v as kind/name, replacing any previous document. created is
// kept from the first Put.
func (t *Tx) Put(kind Kind, name string, created time.Time, v any) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", kind, name, err)
	}
	_, err = t.tx.ExecContext(t.ctx, `INSERT INTO resources (kind, key, name, created, doc) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (kind, key) DO UPDATE SET name = excluded.name, doc = excluded.doc`,
		string(kind), Key(name), name, created.UnixNano(), doc)
	if err != nil {
		return fmt.Errorf("put %s %q: %w", kind, name, err)
	}
	return nil
}

// Delete removes kind/name and reports whether it existed.
func (t *Tx) Delete(kind Kind, name string) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM resources WHERE kind = ? AND key = ?`, string(kind), Key(name))
	if err != nil {
		return false, fmt.Errorf("delete %s %q: %w", kind, name, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// List calls fn with every document of kind, in creation order.
func (t *Tx) List(kind Kind, fn func(doc []byte) error) error {
	return t.list(kind, func(_ string, doc []byte) error { return fn(doc) })
}

func (t *Tx) list(kind Kind, fn func(key string, doc []byte) error) error {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT key, doc FROM resources WHERE kind = ? ORDER BY created, key`, string(kind))
	if err != nil {
		return fmt.Errorf("list %s: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var doc []byte
		if err := rows.Scan(&key, &doc); err != nil {
			return fmt.Errorf("list %s: %w", kind, err)
		}
		if err := fn(key, doc); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ListInto decodes every document of kind into a new T. A document that
// does not decode (written by another version, or damaged) is skipped and
// logged: one bad record must not stop every loop that lists its kind.
func ListInto[T any](t *Tx, kind Kind) ([]T, error) {
	var out []T
	err := t.list(kind, func(key string, doc []byte) error {
		var v T
		if err := json.Unmarshal(doc, &v); err != nil {
			t.log.Error("skipping a stored record that does not decode", "kind", string(kind), "key", key, "err", err)
			return nil
		}
		out = append(out, v)
		return nil
	})
	return out, err
}
