package artifact

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// fileKey identifies one version of a local file: if none of these change,
// its content is taken not to have changed either.
type fileKey struct {
	path     string
	size     int64
	mtime    int64
	mode     fs.FileMode
	dev, ino uint64
}

func keyOf(path string, fi fs.FileInfo) fileKey {
	dev, ino := fileID(fi)
	return fileKey{path: path, size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: fi.Mode(), dev: dev, ino: ino}
}

type fileMemo struct {
	sum    [32]byte
	format format
	known  bool // format was detected
}

// fetchLocal fetches a file:// URL or absolute path.
func (f *Fetcher) fetchLocal(ctx context.Context, src source) (Artifact, error) {
	fi, err := os.Stat(src.path)
	if err != nil {
		return Artifact{}, &Error{Op: OpDownload, Err: fsError(err)}
	}
	if fi.IsDir() {
		p, err := f.planDir(ctx, src)
		if err != nil {
			return Artifact{}, err
		}
		return f.materialize(ctx, p)
	}
	if !fi.Mode().IsRegular() {
		return Artifact{}, &Error{Op: OpDownload, Err: classify(ErrBadArchive, "%s is neither a regular file nor a directory", src.path)}
	}
	if f.lim.download > 0 && fi.Size() > f.lim.download {
		return Artifact{}, &Error{Op: OpDownload, Err: classify(ErrTooLarge, "%s is %s, more than the limit of %s", src.path, formatBytes(fi.Size()), formatBytes(f.lim.download))}
	}
	key := keyOf(src.path, fi)
	m, err := f.hashFile(ctx, key, true)
	if err != nil {
		return Artifact{}, err
	}
	p := &plan{url: src.raw, format: m.format, path: src.path, name: src.baseName(), exec: fi.Mode()&0o111 != 0, sum: m.sum, size: fi.Size()}
	if err := checkFormat(p); err != nil {
		return Artifact{}, err
	}
	return f.materialize(ctx, p)
}

// checkFormat refuses a file named like an archive that is not one.
func checkFormat(p *plan) error {
	if p.format == formatPlain && archiveName(p.name) {
		return &Error{Op: OpUnpack, Err: classify(ErrBadArchive, "%q is named like a tar archive but its content is not a (gzip-compressed) tar archive", p.name)}
	}
	return nil
}

// hashFile returns the SHA-256 of the local file described by key, and its
// format if detect is set, reading the file only if it changed since it was
// last hashed.
func (f *Fetcher) hashFile(ctx context.Context, key fileKey, detectFormat bool) (fileMemo, error) {
	f.mu.Lock()
	m, ok := f.files[key]
	f.mu.Unlock()
	if ok && (m.known || !detectFormat) {
		return m, nil
	}
	file, err := os.Open(key.path)
	if err != nil {
		return fileMemo{}, &Error{Op: OpDownload, Err: fsError(err)}
	}
	defer file.Close()
	if detectFormat {
		m.format, err = detect(file)
		if err != nil {
			return fileMemo{}, &Error{Op: OpDownload, Err: fsError(err)}
		}
		m.known = true
		if _, err := file.Seek(0, io.SeekStart); err != nil {
			return fileMemo{}, &Error{Op: OpDownload, Err: fsError(err)}
		}
	}
	if !ok {
		h := sha256.New()
		n, err := copyCtx(ctx, h, file)
		if err != nil {
			return fileMemo{}, &Error{Op: OpDownload, Err: fsError(err)}
		}
		if n != key.size {
			return fileMemo{}, &Error{Op: OpDownload, Err: classify(ErrSourceChanged, "%s changed size while being read", key.path)}
		}
		h.Sum(m.sum[:0])
	}
	f.mu.Lock()
	f.files[key] = m
	f.mu.Unlock()
	return m, nil
}

// planDir lists a local directory and the digests of its files.
func (f *Fetcher) planDir(ctx context.Context, src source) (*plan, error) {
	top, err := filepath.EvalSymlinks(src.path)
	if err != nil {
		return nil, &Error{Op: OpDownload, Err: fsError(err)}
	}
	p := &plan{url: src.raw, path: top, dir: true}
	err = filepath.WalkDir(top, func(full string, d fs.DirEntry, err error) error {
		if err != nil {
			return &Error{Op: OpDownload, Err: fsError(err)}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(top, full)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		name := filepath.ToSlash(rel)
		if f.lim.entries > 0 && len(p.entries) >= f.lim.entries {
			return entryError(name, ErrTooLarge, "is one more than the %d entries a model directory may have", f.lim.entries)
		}
		switch t := d.Type(); {
		case t.IsDir():
			p.entries = append(p.entries, treeEntry{name: name, typ: typeDir})
		case t.IsRegular():
			fi, err := d.Info()
			if err != nil {
				return &Error{Op: OpDownload, Err: fsError(err)}
			}
			if f.lim.unpacked > 0 && fi.Size() > f.lim.unpacked-p.size {
				return entryError(name, ErrTooLarge, "(%s) would take the model directory past the limit of %s", formatBytes(fi.Size()), formatBytes(f.lim.unpacked))
			}
			m, err := f.hashFile(ctx, keyOf(full, fi), false)
			if err != nil {
				return err
			}
			p.size += fi.Size()
			p.entries = append(p.entries, treeEntry{name: name, typ: typeFile, exec: fi.Mode()&0o111 != 0, size: fi.Size(), sum: m.sum})
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(full)
			if err != nil {
				return &Error{Op: OpDownload, Err: fsError(err)}
			}
			if err := checkLinkTarget(name, target); err != nil {
				return err
			}
			p.entries = append(p.entries, treeEntry{name: name, typ: typeSymlink, target: target})
		default:
			return entryError(name, ErrUnsafeEntry, "is a %s, which a model directory may not contain", modeName(t))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func modeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	default:
		return "special file"
	}
}

// copyDir copies the directory p describes into root, checking that every
// file still has the content it had when listed.
func (f *Fetcher) copyDir(ctx context.Context, p *plan, root *os.Root) error {
	for _, e := range p.entries {
		var err error
		switch e.typ {
		case typeDir:
			err = root.Mkdir(e.name, 0o700)
		case typeSymlink:
			err = root.Symlink(e.target, e.name)
		case typeFile:
			err = f.copyInto(ctx, root, e.name, filepath.Join(p.path, filepath.FromSlash(e.name)), e.exec, e.sum)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// copyFile places the plain file p describes into root.
func (f *Fetcher) copyFile(ctx context.Context, p *plan, root *os.Root) error {
	return f.writeVerified(ctx, root, p.name, p.file, p.path, p.exec, p.sum)
}

// copyInto copies the file at from to name in root; its content must have
// the SHA-256 want.
func (f *Fetcher) copyInto(ctx context.Context, root *os.Root, name, from string, exec bool, want [32]byte) error {
	src, err := os.Open(from)
	if err != nil {
		return &Error{Op: OpDownload, Err: fsError(err)}
	}
	defer src.Close()
	return f.writeVerified(ctx, root, name, src, from, exec, want)
}

// writeVerified writes src to name in root; its content, read from the
// file at from, must have the SHA-256 want.
func (f *Fetcher) writeVerified(ctx context.Context, root *os.Root, name string, src io.Reader, from string, exec bool, want [32]byte) error {
	perm := fs.FileMode(0o600)
	if exec {
		perm = 0o700
	}
	dst, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return entryError(name, ErrBadArchive, "cannot be created: %v", pathErrText(err))
	}
	h := sha256.New()
	_, err = copyCtx(ctx, io.MultiWriter(dst, h), src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return &Error{Op: OpUnpack, Entry: name, Err: fmt.Errorf("cannot be copied: %w", err)}
	}
	var got [32]byte
	if h.Sum(got[:0]); got != want {
		return &Error{Op: OpDownload, Err: classify(ErrSourceChanged, "%s changed while being read", from)}
	}
	return nil
}

// unpackFile unpacks the archive p describes into root, checking that its
// bytes have the SHA-256 the tree is named by.
func (f *Fetcher) unpackFile(ctx context.Context, p *plan, root *os.Root) error {
	h := sha256.New()
	in := &countingReader{r: io.TeeReader(p.file, h)}
	var r io.Reader = bufio.NewReaderSize(in, 64<<10)
	if p.format == formatTarGz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return &Error{Op: OpUnpack, Err: classify(ErrBadArchive, "the archive is not valid gzip: %v", err)}
		}
		defer zr.Close()
		r = zr
	}
	if err := unpackTar(ctx, tar.NewReader(r), in, root, f.lim); err != nil {
		return err
	}
	// Hash what the archive reader left unread (padding, trailing data).
	if _, err := copyCtx(ctx, io.Discard, in); err != nil {
		return &Error{Op: OpDownload, Err: fsError(err)}
	}
	var got [32]byte
	if h.Sum(got[:0]); got != p.sum {
		return &Error{Op: OpDownload, Err: classify(ErrSourceChanged, "%s changed while being read", p.path)}
	}
	return nil
}

// fsError classifies a file system error.
func fsError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &classified{kind: ErrNotFound, text: err.Error(), cause: err}
	case errors.Is(err, fs.ErrPermission):
		return &classified{kind: ErrAccessDenied, text: err.Error(), cause: err}
	default:
		return err
	}
}

// copyCtx is io.Copy that stops when ctx is done.
func copyCtx(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	return io.Copy(dst, &ctxReader{ctx: ctx, r: src})
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
