package store

import (
	"context"
	"errors"
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
