package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type doc struct{ Name, Value string }

func TestPutGetListDeleteSurviveReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(100, 0)
	err = st.Update(ctx, func(tx *Tx) error {
		if err := tx.Put(KindModel, "Beta", t0.Add(time.Second), doc{"Beta", "b"}); err != nil {
			return err
		}
		return tx.Put(KindModel, "alpha", t0, doc{"alpha", "a"})
	})
	if err != nil {
		t.Fatal(err)
	}
	// A failed transaction changes nothing.
	boom := errors.New("boom")
	err = st.Update(ctx, func(tx *Tx) error {
		_ = tx.Put(KindModel, "gamma", t0, doc{"gamma", "g"})
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("update error %v", err)
	}
	st.Close()

	st, err = Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.View(ctx, func(tx *Tx) error {
		var d doc
		if err := tx.Get(KindModel, "BETA", &d); err != nil || d.Value != "b" {
			t.Errorf("case-insensitive get: %+v %v", d, err)
		}
		if err := tx.Get(KindModel, "gamma", &d); !errors.Is(err, ErrNotFound) {
			t.Errorf("rolled-back put is visible: %v", err)
		}
		all, err := ListInto[doc](tx, KindModel)
		if err != nil || len(all) != 2 || all[0].Name != "alpha" || all[1].Name != "Beta" {
			t.Errorf("list in creation order: %+v %v", all, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, func(tx *Tx) error {
		ok, err := tx.Delete(KindModel, "alpha")
		if !ok || err != nil {
			t.Errorf("delete: %v %v", ok, err)
		}
		ok, _ = tx.Delete(KindModel, "alpha")
		if ok {
			t.Error("second delete reported a deletion")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A stored record that no longer decodes is skipped by ListInto, not fatal
// to the listing: one bad record must not stop every loop over its kind.
func TestListIntoSkipsUndecodableRecords(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Update(ctx, func(tx *Tx) error {
		if err := tx.Put(KindModel, "good", time.Unix(1, 0), doc{"good", "g"}); err != nil {
			return err
		}
		return tx.Put(KindModel, "bad", time.Unix(2, 0), map[string]any{"Name": 42})
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []doc
	err = st.View(ctx, func(tx *Tx) (err error) {
		got, err = ListInto[doc](tx, KindModel)
		return err
	})
	if err != nil || len(got) != 1 || got[0].Name != "good" {
		t.Fatalf("ListInto = %+v, %v; want the one good record", got, err)
	}
}

// TestOpenKeepsDataPrivate: the data dir is 0700 and the database files
// 0600, also when a previous version left them open to everyone.
func TestOpenKeepsDataPrivate(t *testing.T) {
	for _, preexisting := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "data")
		if preexisting {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "hearth.db"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		st, err := Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Update(context.Background(), func(tx *Tx) error {
			return tx.Put(KindModel, "m", time.Now(), map[string]string{"Environment": "secret"})
		}); err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
			t.Errorf("preexisting=%v: data dir mode %v, want 0700", preexisting, fi.Mode().Perm())
		}
		for _, e := range entries {
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("preexisting=%v: %s has mode %v, want 0600", preexisting, e.Name(), fi.Mode().Perm())
			}
		}
		st.Close()
	}
}
