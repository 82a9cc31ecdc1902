package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// limits bound what one artifact may cost; a value <= 0 means no limit.
type limits struct {
	download int64 // bytes read from the source
	unpacked int64 // bytes of regular files in the model directory
	entries  int   // entries in the model directory
	ratio    int64 // unpacked bytes per compressed byte
}

// ratioFloor is the unpacked size below which the expansion ratio is not
// checked: small archives of repetitive data compress very well and are
// harmless.
const ratioFloor = 1 << 20

// format is what a fetched file turned out to be.
type format int

const (
	formatPlain format = iota // not an archive
	formatTar                 // uncompressed tar
	formatTarGz               // gzip-compressed tar
)

func (f format) String() string {
	switch f {
	case formatTar:
		return "tar"
	case formatTarGz:
		return "tar.gz"
	default:
		return "file"
	}
}

// blockSize is the size of a tar header block.
const blockSize = 512

// detect tells archives from other files by their first bytes: a tar header
// block, possibly gzip-compressed. An empty gzip-compressed archive (zero
// blocks only) is an archive too.
func detect(r io.Reader) (format, error) {
	head := make([]byte, blockSize)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return formatPlain, err
	}
	head = head[:n]
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(io.MultiReader(bytes.NewReader(head), r))
		if err != nil {
			return formatPlain, nil
		}
		block := make([]byte, blockSize)
		if _, err := io.ReadFull(zr, block); err != nil {
			return formatPlain, nil
		}
		if isTarHeader(block) || isZero(block) {
			return formatTarGz, nil
		}
		return formatPlain, nil
	}
	if isTarHeader(head) {
		return formatTar, nil
	}
	return formatPlain, nil
}

// isTarHeader reports whether b starts with a tar header block whose
// checksum is right.
func isTarHeader(b []byte) bool {
	if len(b) < blockSize {
		return false
	}
	field := strings.Trim(string(b[148:156]), " \x00")
	want, err := strconv.ParseInt(field, 8, 64)
	if err != nil {
		return false
	}
	var unsigned, signed int64
	for i, c := range b[:blockSize] {
		if 148 <= i && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return want == unsigned || want == signed
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return len(b) > 0
}

// archiveName reports whether a file's name says it is an archive.
func archiveName(name string) bool {
	n := strings.ToLower(name)
	return strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".tgz") || strings.HasSuffix(n, ".tar")
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// unpacker writes the entries of one tar archive into a directory.
type unpacker struct {
	root     *os.Root
	lim      limits
	in       *countingReader // compressed input, for the expansion ratio
	entries  int
	total    int64
	symlinks map[string]bool // symlinks created so far, by clean name
	buf      []byte
}

// unpackTar unpacks the tar stream tr into root. in counts the bytes of the
// archive as stored (compressed or not) consumed so far. Errors name the
// entry at fault; nothing is removed on failure, which is the caller's job.
func unpackTar(ctx context.Context, tr *tar.Reader, in *countingReader, root *os.Root, lim limits) error {
	u := &unpacker{root: root, lim: lim, in: in, symlinks: make(map[string]bool), buf: make([]byte, 32<<10)}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			return &Error{Op: OpUnpack, Err: classify(ErrBadArchive, "the archive is damaged: %v", err)}
		}
		if err := u.entry(ctx, tr, hdr); err != nil {
			return err
		}
	}
}

func (u *unpacker) entry(ctx context.Context, tr *tar.Reader, hdr *tar.Header) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	name, err := checkName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "." {
		if hdr.Typeflag == tar.TypeDir {
			return nil
		}
		return entryError(hdr.Name, ErrUnsafeEntry, "names the model directory itself but is not a directory")
	}
	u.entries++
	if u.lim.entries > 0 && u.entries > u.lim.entries {
		return entryError(hdr.Name, ErrTooLarge, "is one more than the %d entries a model artifact may have", u.lim.entries)
	}
	if link := u.beneathSymlink(name); link != "" {
		return entryError(hdr.Name, ErrUnsafeEntry, "is beneath symlink %q, which could lead it outside the model directory", link)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := u.root.MkdirAll(name, 0o700); err != nil {
			return entryError(hdr.Name, ErrBadArchive, "cannot be created: %v", pathErrText(err))
		}
		return nil
	case tar.TypeReg, tar.TypeGNUSparse:
		return u.file(ctx, tr, hdr, name)
	case tar.TypeSymlink:
		if err := checkLinkTarget(name, hdr.Linkname); err != nil {
			return err
		}
		if err := u.prepare(hdr.Name, name); err != nil {
			return err
		}
		if err := u.root.Symlink(hdr.Linkname, name); err != nil {
			return entryError(hdr.Name, ErrBadArchive, "cannot be created: %v", pathErrText(err))
		}
		u.symlinks[name] = true
		return nil
	case tar.TypeLink:
		return u.hardlink(hdr, name)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return entryError(hdr.Name, ErrUnsafeEntry, "is a %s, which a model directory may not contain", typeName(hdr.Typeflag))
	default:
		return entryError(hdr.Name, ErrUnsafeEntry, "has unsupported type %q", string(hdr.Typeflag))
	}
}

func typeName(t byte) string {
	switch t {
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	default:
		return "FIFO"
	}
}

// beneathSymlink returns the symlink created earlier that is a parent of
// name, if any. Entries beneath links are refused: where they land depends on
// the links, which the lexical checks cannot see.
func (u *unpacker) beneathSymlink(name string) string {
	if len(u.symlinks) == 0 {
		return ""
	}
	for i := range len(name) {
		if name[i] == '/' && u.symlinks[name[:i]] {
			return name[:i]
		}
	}
	return ""
}

// prepare makes room for a non-directory entry: it creates the parent
// directories and removes an earlier non-directory entry of the same name (a
// later entry of a tar archive replaces an earlier one).
func (u *unpacker) prepare(raw, name string) error {
	if dir := path.Dir(name); dir != "." {
		if err := u.root.MkdirAll(dir, 0o700); err != nil {
			return entryError(raw, ErrBadArchive, "cannot be created: %v", pathErrText(err))
		}
	}
	fi, err := u.root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return entryError(raw, ErrBadArchive, "cannot be created: %v", pathErrText(err))
	case fi.IsDir():
		return entryError(raw, ErrBadArchive, "conflicts with a directory of the same name")
	}
	delete(u.symlinks, name)
	if err := u.root.Remove(name); err != nil {
		return entryError(raw, ErrBadArchive, "cannot replace an earlier entry: %v", pathErrText(err))
	}
	return nil
}

func (u *unpacker) file(ctx context.Context, tr *tar.Reader, hdr *tar.Header, name string) error {
	if u.lim.unpacked > 0 && hdr.Size > u.lim.unpacked-u.total {
		return entryError(hdr.Name, ErrTooLarge, "(%s) would take the unpacked size past the limit of %s", formatBytes(hdr.Size), formatBytes(u.lim.unpacked))
	}
	if err := u.prepare(hdr.Name, name); err != nil {
		return err
	}
	perm := fs.FileMode(0o600)
	if hdr.Mode&0o111 != 0 {
		perm = 0o700
	}
	f, err := u.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return entryError(hdr.Name, ErrBadArchive, "cannot be created: %v", pathErrText(err))
	}
	werr := u.copy(ctx, f, tr, hdr.Name)
	if err := f.Close(); err != nil && werr == nil {
		werr = entryError(hdr.Name, ErrBadArchive, "cannot be written: %v", pathErrText(err))
	}
	return werr
}

// copy writes one file's content, checking the expansion ratio as it goes
// so that a decompression bomb is stopped early.
func (u *unpacker) copy(ctx context.Context, w io.Writer, r io.Reader, entry string) error {
	for {
		n, rerr := r.Read(u.buf)
		if n > 0 {
			if _, err := w.Write(u.buf[:n]); err != nil {
				return entryError(entry, ErrBadArchive, "cannot be written: %v", pathErrText(err))
			}
			u.total += int64(n)
			if u.lim.ratio > 0 && u.total > ratioFloor && u.total > u.lim.ratio*u.in.n {
				return entryError(entry, ErrTooLarge, "expands the archive more than %d-fold (%s unpacked from %s), which looks like a decompression bomb",
					u.lim.ratio, formatBytes(u.total), formatBytes(u.in.n))
			}
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			return entryError(entry, ErrBadArchive, "is truncated or damaged: %v", rerr)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

func (u *unpacker) hardlink(hdr *tar.Header, name string) error {
	target, err := checkName(hdr.Linkname)
	if err != nil || target == "." {
		return entryError(hdr.Name, ErrUnsafeEntry, "is a hard link to %q, which escapes the model directory", hdr.Linkname)
	}
	if link := u.beneathSymlink(target); link != "" {
		return entryError(hdr.Name, ErrUnsafeEntry, "is a hard link to %q, beneath symlink %q", hdr.Linkname, link)
	}
	fi, err := u.root.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return entryError(hdr.Name, ErrBadArchive, "is a hard link to %q, which is not an earlier entry of the archive", hdr.Linkname)
	case err != nil:
		return entryError(hdr.Name, ErrBadArchive, "cannot be created: %v", pathErrText(err))
	case !fi.Mode().IsRegular():
		return entryError(hdr.Name, ErrUnsafeEntry, "is a hard link to %q, which is not a regular file", hdr.Linkname)
	case target == name:
		return nil
	}
	if err := u.prepare(hdr.Name, name); err != nil {
		return err
	}
	if err := u.root.Link(target, name); err != nil {
		return entryError(hdr.Name, ErrBadArchive, "cannot be created: %v", pathErrText(err))
	}
	return nil
}

// pathErrText drops the temporary path from a file system error: it means
// nothing to the user, who knows the entry name.
func pathErrText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err.Error()
	}
	return err.Error()
}

// formatBytes renders n in binary units, as in "1.5 GiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	s := strconv.FormatFloat(v, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + string("KMGTPE"[exp]) + "iB"
}
