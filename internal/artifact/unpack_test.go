package artifact

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFetchRefusesBadArchives(t *testing.T) {
	zeros := strings.Repeat("\x00", 4<<20)
	tests := []struct {
		name    string
		opts    Options
		file    string // archive file name; default model.tar.gz
		archive []byte
		kind    error
		want    string // expected error text after the URL
	}{
		{
			name:    "parent traversal",
			archive: makeTar(t, true, entry{name: "../../etc/passwd", body: "x"}),
			kind:    ErrUnsafeEntry,
			want:    `entry "../../etc/passwd" escapes the model directory`,
		},
		{
			name:    "traversal in the middle of a name",
			archive: makeTar(t, true, entry{name: "a/../../x", body: "x"}),
			kind:    ErrUnsafeEntry,
			want:    `entry "a/../../x" escapes the model directory`,
		},
		{
			name:    "dot-dot element that stays inside is refused too",
			archive: makeTar(t, true, entry{name: "a/../b", body: "x"}),
			kind:    ErrUnsafeEntry,
			want:    `entry "a/../b" escapes the model directory`,
		},
		{
			name:    "absolute name",
			archive: makeTar(t, true, entry{name: "/etc/passwd", body: "x"}),
			kind:    ErrUnsafeEntry,
			want:    `entry "/etc/passwd" is an absolute path, which escapes the model directory`,
		},
		{
			name:    "symlink to an absolute path",
			archive: makeTar(t, true, entry{name: "passwd", typ: tar.TypeSymlink, link: "/etc/passwd"}),
			kind:    ErrUnsafeEntry,
			want:    `entry "passwd" is a symlink to "/etc/passwd", an absolute path outside the model directory`,
		},
		{
			name:    "symlink climbing out",
			archive: makeTar(t, true, entry{name: "a/b", typ: tar.TypeSymlink, link: "../../x"}),
			kind:    ErrUnsafeEntry,
			want:    `entry "a/b" is a symlink to "../../x", which escapes the model directory`,
		},
		{
			name: "chain of symlinks that only escapes when followed",
			archive: makeTar(t, true,
				entry{name: "p/q/up", typ: tar.TypeSymlink, link: "../.."},
				entry{name: "p/q/out", typ: tar.TypeSymlink, link: "up/../etc"}),
			kind: ErrUnsafeEntry,
			want: `entry "p/q/out" is a symlink to "up/../etc", which resolves outside the model directory`,
		},
		{
			name: "file written through a symlink",
			archive: makeTar(t, true,
				entry{name: "here", typ: tar.TypeSymlink, link: "."},
				entry{name: "here/x", body: "x"}),
			kind: ErrUnsafeEntry,
			want: `entry "here/x" is beneath symlink "here", which could lead it outside the model directory`,
		},
		{
			name: "symlink loop",
			archive: makeTar(t, true,
				entry{name: "a", typ: tar.TypeSymlink, link: "b"},
				entry{name: "b", typ: tar.TypeSymlink, link: "a"}),
			kind: ErrUnsafeEntry,
			want: `entry "a" is a symlink to "b", which loops`,
		},
		{
			name:    "hard link climbing out",
			archive: makeTar(t, true, entry{name: "x", typ: tar.TypeLink, link: "../../etc/shadow"}),
			kind:    ErrUnsafeEntry,
			want:    `entry "x" is a hard link to "../../etc/shadow", which escapes the model directory`,
		},
		{
			name:    "hard link to an absolute path",
			archive: makeTar(t, true, entry{name: "x", typ: tar.TypeLink, link: "/etc/shadow"}),
			kind:    ErrUnsafeEntry,
			want:    `entry "x" is a hard link to "/etc/shadow", which escapes the model directory`,
		},
		{
			name: "hard link to a symlink",
			archive: makeTar(t, true,
				entry{name: "s", typ: tar.TypeSymlink, link: "t"},
				entry{name: "x", typ: tar.TypeLink, link: "s"}),
			kind: ErrUnsafeEntry,
			want: `entry "x" is a hard link to "s", which is not a regular file`,
		},
		{
			name:    "hard link to nothing",
			archive: makeTar(t, true, entry{name: "x", typ: tar.TypeLink, link: "missing"}),
			kind:    ErrBadArchive,
			want:    `entry "x" is a hard link to "missing", which is not an earlier entry of the archive`,
		},
		{
			name:    "character device",
			archive: makeTar(t, true, entry{name: "null", typ: tar.TypeChar}),
			kind:    ErrUnsafeEntry,
			want:    `entry "null" is a character device, which a model directory may not contain`,
		},
		{
			name:    "block device",
			archive: makeTar(t, true, entry{name: "sda", typ: tar.TypeBlock}),
			kind:    ErrUnsafeEntry,
			want:    `entry "sda" is a block device, which a model directory may not contain`,
		},
		{
			name:    "fifo",
			archive: makeTar(t, true, entry{name: "pipe", typ: tar.TypeFifo}),
			kind:    ErrUnsafeEntry,
			want:    `entry "pipe" is a FIFO, which a model directory may not contain`,
		},
		{
			name: "too many entries",
			opts: Options{MaxEntries: 2},
			archive: makeTar(t, true,
				entry{name: "a", body: "1"}, entry{name: "b", body: "2"}, entry{name: "c", body: "3"}),
			kind: ErrTooLarge,
			want: `entry "c" is one more than the 2 entries a model artifact may have`,
		},
		{
			name:    "unpacked size limit",
			opts:    Options{MaxUnpackedBytes: 1000},
			archive: makeTar(t, true, entry{name: "small", body: "ok"}, entry{name: "big", body: strings.Repeat("x", 2000)}),
			kind:    ErrTooLarge,
			want:    `entry "big" (2 KiB) would take the unpacked size past the limit of 1000 B`,
		},
		{
			name:    "decompression bomb",
			archive: makeTar(t, true, entry{name: "zeros", body: zeros}),
			kind:    ErrTooLarge,
			want:    `entry "zeros" expands the archive more than 200-fold`,
		},
		{
			name:    "download size limit",
			opts:    Options{MaxDownloadBytes: 100},
			archive: makeTar(t, true, entry{name: "a", body: strings.Repeat("abc", 1000)}),
			kind:    ErrTooLarge,
			want:    `more than the limit of 100 B`,
		},
		{
			name:    "truncated archive",
			archive: makeTar(t, false, entry{name: "a", body: strings.Repeat("abc", 1000)})[:1500],
			file:    "model.tar",
			kind:    ErrBadArchive,
			want:    `entry "a" is truncated or damaged: unexpected EOF`,
		},
		{
			name:    "named like an archive but is not one",
			archive: []byte("just some text"),
			kind:    ErrBadArchive,
			want:    `"model.tar.gz" is named like a tar archive but its content is not a (gzip-compressed) tar archive`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.CacheDir = filepath.Join(t.TempDir(), "cache")
			f := newTestFetcher(t, tt.opts)
			name := tt.file
			if name == "" {
				name = "model.tar.gz"
			}
			url := fileURL(writeFile(t, name, tt.archive))
			a, err := f.Fetch(context.Background(), url)
			if err == nil {
				t.Fatalf("Fetch succeeded with %+v, want an error", a)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %q does not match %v", err, tt.kind)
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.URL != url {
				t.Errorf("error %q is not an *Error for %s", err, url)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error is\n\t%s\nwant it to contain\n\t%s", err, tt.want)
			}
			for _, n := range cacheNames(t, tt.opts.CacheDir) {
				t.Errorf("failed fetch left %q in the cache directory", n)
			}
		})
	}
}

func TestFetchUnpacksArchive(t *testing.T) {
	archive := makeTar(t, true,
		entry{name: "./", typ: tar.TypeDir},
		entry{name: "./xgboost-model", body: "trees"},
		entry{name: "code/", typ: tar.TypeDir},
		entry{name: "code/serve", body: "#!/bin/sh\n", mode: 0o755},
		entry{name: "code/lib/util.py", body: "pass\n"}, // parent not listed
		entry{name: "latest", typ: tar.TypeSymlink, link: "xgboost-model"},
		entry{name: "code/model-link", typ: tar.TypeSymlink, link: "../xgboost-model"},
		entry{name: "copy", typ: tar.TypeLink, link: "xgboost-model"},
		entry{name: "notes.txt", body: "first"},
		entry{name: "notes.txt", body: "second"}, // a later entry replaces an earlier one
	)
	for _, tc := range []struct {
		name string
		data []byte
		file string
	}{
		{name: "gzip-compressed tar", data: archive, file: "model.tar.gz"},
		{name: "gzip-compressed tar without a telling name", data: archive, file: "model"},
		{name: "uncompressed tar", data: makeTar(t, false, entry{name: "xgboost-model", body: "trees"}), file: "model.tar"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFetcher(t, Options{})
			src := writeFile(t, tc.file, tc.data)
			a, err := f.Fetch(context.Background(), src)
			if err != nil {
				t.Fatal(err)
			}
			if want := sha256Hex(tc.data); a.Digest != want {
				t.Errorf("Digest = %s, want the SHA-256 of the archive, %s", a.Digest, want)
			}
			if a.Size != int64(len(tc.data)) {
				t.Errorf("Size = %d, want %d", a.Size, len(tc.data))
			}
			if want := filepath.Join(f.opts.CacheDir, a.Digest); a.Dir != want {
				t.Errorf("Dir = %s, want %s", a.Dir, want)
			}
			got := readTree(t, a.Dir)
			if !strings.HasSuffix(tc.file, ".tar") {
				want := map[string]string{
					"xgboost-model":    "trees",
					"code":             "dir",
					"code/serve":       "#!/bin/sh\n",
					"code/lib":         "dir",
					"code/lib/util.py": "pass\n",
					"latest":           "-> xgboost-model",
					"code/model-link":  "-> ../xgboost-model",
					"copy":             "trees",
					"notes.txt":        "second",
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("model directory (-want +got):\n%s", diff)
				}
				assertMode(t, filepath.Join(a.Dir, "code/serve"), 0o500)
				assertMode(t, filepath.Join(a.Dir, "code/lib/util.py"), 0o400)
				assertMode(t, filepath.Join(a.Dir, "code"), fs.ModeDir|0o500)
			} else if diff := cmp.Diff(map[string]string{"xgboost-model": "trees"}, got); diff != "" {
				t.Errorf("model directory (-want +got):\n%s", diff)
			}
			assertMode(t, a.Dir, fs.ModeDir|0o500)
			assertMode(t, filepath.Join(a.Dir, "xgboost-model"), 0o400)
		})
	}
}

func assertMode(t *testing.T, p string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (fs.ModeType | fs.ModePerm); got != want {
		t.Errorf("mode of %s = %v, want %v", p, got, want)
	}
}

func TestFetchPlacesPlainFiles(t *testing.T) {
	tests := []struct {
		name string
		file string
		data []byte
	}{
		{name: "model file", file: "xgboost-model", data: []byte("binary model")},
		{name: "gzip-compressed file that is not a tar archive", file: "model.json.gz", data: gzipBytes(t, []byte(`{"learner":{}}`))},
		{name: "empty file", file: "empty", data: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTestFetcher(t, Options{})
			a, err := f.Fetch(context.Background(), fileURL(writeFile(t, tt.file, tt.data)))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{tt.file: string(tt.data)}
			if diff := cmp.Diff(want, readTree(t, a.Dir)); diff != "" {
				t.Errorf("model directory (-want +got):\n%s", diff)
			}
			if a.Size != int64(len(tt.data)) {
				t.Errorf("Size = %d, want %d", a.Size, len(tt.data))
			}
		})
	}
}

func TestFetchEmptyURL(t *testing.T) {
	f := newTestFetcher(t, Options{})
	a, err := f.Fetch(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, a.Dir); len(got) != 0 {
		t.Errorf("model directory for no artifact holds %v, want nothing", got)
	}
	if a.Size != 0 {
		t.Errorf("Size = %d, want 0", a.Size)
	}
	// An empty directory is the same tree.
	empty := t.TempDir()
	b, err := f.Fetch(context.Background(), empty)
	if err != nil {
		t.Fatal(err)
	}
	if b.Dir != a.Dir {
		t.Errorf("empty directory gave %s, no artifact gave %s; want the same tree", b.Dir, a.Dir)
	}
}

func TestFetchSeedFixture(t *testing.T) {
	const fixture = "../../../shared/fixtures/xgboost/seed-abalone-tarball/model.tar.gz"
	data, err := os.ReadFile(fixture)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("shared fixtures not present")
	}
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(fixture)
	if err != nil {
		t.Fatal(err)
	}
	f := newTestFetcher(t, Options{})
	a, err := f.Fetch(context.Background(), fileURL(abs))
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != sha256Hex(data) {
		t.Errorf("Digest = %s, want %s", a.Digest, sha256Hex(data))
	}
	fi, err := os.Stat(filepath.Join(a.Dir, "xgboost-model"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 77292 {
		t.Errorf("xgboost-model is %d bytes, want 77292 as listed in the archive", fi.Size())
	}
}

// FuzzUnpack feeds arbitrary bytes to the tar unpacker: it must fail with an
// *Error or produce a tree that stays inside its directory.
func FuzzUnpack(f *testing.F) {
	f.Add(makeTar(f, false, entry{name: "a", body: "x"}, entry{name: "d/", typ: tar.TypeDir}, entry{name: "d/b", body: "y"}))
	f.Add(makeTar(f, false, entry{name: "../x", body: "x"}))
	f.Add(makeTar(f, false, entry{name: "l", typ: tar.TypeSymlink, link: "../x"}))
	f.Add(makeTar(f, false, entry{name: "l", typ: tar.TypeSymlink, link: "."}, entry{name: "l/x", body: "x"}))
	f.Add(makeTar(f, false, entry{name: "p/q/up", typ: tar.TypeSymlink, link: "../.."}, entry{name: "p/q/o", typ: tar.TypeSymlink, link: "up/../x"}))
	f.Add(makeTar(f, false, entry{name: "a", body: "x"}, entry{name: "h", typ: tar.TypeLink, link: "a"}))
	f.Add(makeTar(f, false, entry{name: "c", typ: tar.TypeChar}))
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, data []byte) {
		outer := t.TempDir()
		dir := filepath.Join(outer, "tree")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		in := &countingReader{r: bytes.NewReader(data)}
		lim := limits{download: 1 << 20, unpacked: 1 << 20, entries: 100, ratio: 200}
		err = unpackTar(context.Background(), tar.NewReader(in), in, root, lim)
		if err == nil {
			err = checkLinks(dir)
		}
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %q (%T) is not an *Error", err, err)
			}
			return
		}
		if names := cacheNames(t, outer); len(names) != 1 {
			t.Fatalf("unpacking wrote outside its directory: %v", names)
		}
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			t.Fatal(err)
		}
		err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.Type()&fs.ModeSymlink == 0 {
				return err
			}
			if to, err := filepath.EvalSymlinks(p); err == nil && to != real && !strings.HasPrefix(to, real+string(filepath.Separator)) {
				t.Errorf("symlink %s resolves to %s, outside %s", p, to, real)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
