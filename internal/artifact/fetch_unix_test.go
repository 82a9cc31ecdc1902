//go:build unix

package artifact

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestFetchRefusesSpecialFilesInDirectory(t *testing.T) {
	src := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(src, "pipe"), 0o644); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	f := newTestFetcher(t, Options{})
	_, err := f.Fetch(context.Background(), src)
	if !errors.Is(err, ErrUnsafeEntry) {
		t.Fatalf("err = %v, want ErrUnsafeEntry", err)
	}
	if want := `entry "pipe" is a FIFO, which a model directory may not contain`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

// TestCacheIsNoMoreReadableThanItsSource fetches a file only its owner may
// read, as a plain file, inside an archive and inside a directory: nothing
// in the cache may be readable by anyone but the owner.
func TestCacheIsNoMoreReadableThanItsSource(t *testing.T) {
	src := t.TempDir()
	secret := filepath.Join(src, "shadow")
	if err := os.WriteFile(secret, []byte("root:$6$hash:19000::::::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(src, "model")
	if err := os.MkdirAll(filepath.Join(dir, "code"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "code", "serve"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(src, "model.tar.gz")
	if err := os.WriteFile(archive, makeTar(t, true, entry{name: "xgboost-model", body: "m", mode: 0o644}), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newTestFetcher(t, Options{})
	for _, u := range []string{secret, fileURL(archive), dir} {
		if _, err := f.Fetch(context.Background(), u); err != nil {
			t.Fatalf("Fetch %s: %v", u, err)
		}
	}
	err := filepath.WalkDir(f.opts.CacheDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: readable beyond its owner", p, fi.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
