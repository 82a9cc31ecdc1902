package artifact

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// entryType is the kind of one entry of a model tree.
type entryType byte

const (
	typeDir     entryType = 'd'
	typeFile    entryType = 'f'
	typeSymlink entryType = 'l'
)

// treeEntry describes one entry of a model tree, by its slash-separated path
// relative to the tree's root.
type treeEntry struct {
	name   string
	typ    entryType
	exec   bool     // typeFile: any executable bit set
	size   int64    // typeFile
	sum    [32]byte // typeFile: SHA-256 of the content
	target string   // typeSymlink
}

// treeDigest is the SHA-256 of a canonical listing of a tree. Entries are
// listed in name order, one a line, so the digest depends only on the tree.
func treeDigest(entries []treeEntry) string {
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b treeEntry) int { return strings.Compare(a.name, b.name) })
	h := sha256.New()
	io.WriteString(h, "hearth-tree-v1\n")
	for _, e := range sorted {
		switch e.typ {
		case typeDir:
			fmt.Fprintf(h, "d %s\n", strconv.Quote(e.name))
		case typeFile:
			mode := "-"
			if e.exec {
				mode = "x"
			}
			fmt.Fprintf(h, "f %s %d %x %s\n", mode, e.size, e.sum, strconv.Quote(e.name))
		case typeSymlink:
			fmt.Fprintf(h, "l %s %s\n", strconv.Quote(e.name), strconv.Quote(e.target))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// isDigest reports whether name has the form of a tree digest.
func isDigest(name string) bool {
	if len(name) != 2*sha256.Size {
		return false
	}
	for _, c := range []byte(name) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// checkName turns an archive entry name into a clean slash-separated path
// relative to the model directory, refusing names that could land outside.
// It returns "." for the directory itself.
func checkName(name string) (string, error) {
	switch {
	case name == "":
		return "", entryError(name, ErrUnsafeEntry, "has an empty name")
	case strings.HasPrefix(name, "/"):
		return "", entryError(name, ErrUnsafeEntry, "is an absolute path, which escapes the model directory")
	}
	for el := range strings.SplitSeq(name, "/") {
		if el == ".." {
			return "", entryError(name, ErrUnsafeEntry, "escapes the model directory")
		}
	}
	return path.Clean(name), nil
}

// checkLinkTarget refuses a symlink at name whose target is absolute or,
// read lexically from the link's directory, leads outside the tree. Chains
// of links are checked once the tree is complete, by checkLinks.
func checkLinkTarget(name, target string) error {
	switch {
	case target == "":
		return entryError(name, ErrUnsafeEntry, "is a symlink with an empty target")
	case path.IsAbs(target):
		return entryError(name, ErrUnsafeEntry, "is a symlink to %q, an absolute path outside the model directory", target)
	}
	if escapes(path.Join(path.Dir(name), target)) {
		return entryError(name, ErrUnsafeEntry, "is a symlink to %q, which escapes the model directory", target)
	}
	return nil
}

func escapes(clean string) bool { return clean == ".." || strings.HasPrefix(clean, "../") }

// maxLinkHops bounds the symlinks followed while resolving one path, as the
// kernel's ELOOP limit does.
const maxLinkHops = 40

// checkLinks resolves every symlink of the tree at dir the way the kernel
// would and refuses any that leads outside the tree or loops. Targets that do
// not exist are resolved lexically from the point where they stop existing.
func checkLinks(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		return resolveLink(dir, filepath.ToSlash(rel))
	})
}

// resolveLink checks the symlink at name (relative to dir).
func resolveLink(dir, name string) error {
	target, err := os.Readlink(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return err
	}
	var cur []string // physical location within the tree, as elements
	if d := path.Dir(name); d != "." {
		cur = strings.Split(d, "/")
	}
	pending := []string{target}
	hops := 1
	for len(pending) > 0 {
		next := pending[0]
		pending = pending[1:]
		if path.IsAbs(next) {
			return entryError(name, ErrUnsafeEntry, "is a symlink to %q, which resolves to an absolute path outside the model directory", target)
		}
		elems := strings.Split(next, "/")
		for i, el := range elems {
			switch el {
			case "", ".":
				continue
			case "..":
				if len(cur) == 0 {
					return entryError(name, ErrUnsafeEntry, "is a symlink to %q, which resolves outside the model directory", target)
				}
				cur = cur[:len(cur)-1]
				continue
			}
			at := filepath.Join(dir, filepath.FromSlash(path.Join(path.Join(cur...), el)))
			fi, err := os.Lstat(at)
			if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
				cur = append(cur, el)
				continue
			}
			hops++
			if hops > maxLinkHops {
				return entryError(name, ErrUnsafeEntry, "is a symlink to %q, which loops", target)
			}
			t, err := os.Readlink(at)
			if err != nil {
				return err
			}
			// Resolve the link's target from where the link is, then the
			// rest of this path.
			rest := strings.Join(elems[i+1:], "/")
			pending = append([]string{t, rest}, pending...)
			break
		}
	}
	return nil
}

// makeReadOnly gives the tree at dir the modes of a model directory that
// only the server's user (and the workers it starts as that user) may read:
// directories 0500, files 0500 if they were executable and 0400 otherwise.
// So the cache never makes a file more readable than its source was, even
// when the source was readable by its owner alone.
func makeReadOnly(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.Chmod(p, 0o500)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			mode := fs.FileMode(0o400)
			if fi.Mode()&0o111 != 0 {
				mode = 0o500
			}
			return os.Chmod(p, mode)
		}
		return nil
	})
}

// removeTree removes dir and everything in it, including read-only trees.
func removeTree(dir string) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return os.Chmod(p, 0o700)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.RemoveAll(dir)
}
