package artifact

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Default limits, used when the corresponding [Options] field is zero.
const (
	DefaultMaxDownloadBytes = 10 << 30 // 10 GiB
	DefaultMaxUnpackedBytes = 10 << 30 // 10 GiB
	DefaultMaxEntries       = 100_000
	DefaultMaxRatio         = 200
	DefaultPruneGrace       = 10 * time.Minute
)

// Clock tells the time; the Fetcher uses it to protect freshly fetched trees
// from [Fetcher.Prune].
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Options configure a [Fetcher]. Only CacheDir is required.
type Options struct {
	// CacheDir holds one read-only model tree per digest, plus temporary
	// files while fetching. It is created on first use.
	CacheDir string

	// S3 reads s3:// URLs; nil makes them fail. See [NewS3Client].
	S3 S3Client

	// HTTPClient reads https:// (and http://) URLs; nil means a client with
	// http.DefaultTransport. Redirects to plain http are refused unless
	// AllowHTTP is set.
	HTTPClient *http.Client

	// AllowHTTP accepts plain http:// URLs, for tests and local stores.
	AllowHTTP bool

	// MaxDownloadBytes bounds the size of the fetched file (remote object or
	// local file). Zero means DefaultMaxDownloadBytes, negative no limit.
	MaxDownloadBytes int64

	// MaxUnpackedBytes bounds the total size of the files in a model
	// directory. Zero means DefaultMaxUnpackedBytes, negative no limit.
	MaxUnpackedBytes int64

	// MaxEntries bounds the number of files, directories and links in a
	// model directory. Zero means DefaultMaxEntries, negative no limit.
	MaxEntries int

	// MaxRatio bounds how many times larger than the archive its unpacked
	// content may be, once that content passes 1 MiB. Zero means
	// DefaultMaxRatio, negative no limit.
	MaxRatio int

	// PruneGrace keeps a tree from Prune for this long after a Fetch
	// returned it, so a worker about to start from it is not raced. Zero
	// means DefaultPruneGrace, negative no grace.
	PruneGrace time.Duration

	// Clock defaults to the system clock.
	Clock Clock

	// Logger defaults to discarding.
	Logger *slog.Logger
}

// Artifact is a model directory ready for a worker.
type Artifact struct {
	// Dir is the model directory, <CacheDir>/<Digest>. It and everything in
	// it are read-only and shared by every fetch of the same content.
	Dir string
	// Digest identifies the content: the SHA-256 of the archive bytes for
	// an archive, of a listing of the tree otherwise (see the package
	// documentation).
	Digest string
	// Size is the size in bytes of what was fetched: the archive or file, or
	// the sum of the file sizes of a directory. It is 0 for no artifact.
	Size int64
}

// Stats count what a Fetcher has done since it was created.
type Stats struct {
	Fetches         int64 // successful Fetch calls
	Unpacks         int64 // trees built in the cache
	Downloads       int64 // remote objects transferred
	DownloadedBytes int64 // bytes of those transfers
	Revalidated     int64 // remote fetches answered "not modified"
}

// Fetcher fetches model artifacts into a content-addressed cache. It is safe
// for concurrent use; several Fetchers must not share a CacheDir.
type Fetcher struct {
	opts  Options
	lim   limits
	grace time.Duration
	clock Clock
	log   *slog.Logger
	http  *http.Client

	byURL    group[Artifact] // coalesces fetches of one source
	byDigest group[struct{}] // coalesces builds of one tree
	pruneMu  sync.Mutex      // serialises Prune

	mu       sync.Mutex
	ready    bool                  // CacheDir exists
	files    map[fileKey]fileMemo  // local files already hashed
	remote   map[string]remoteMemo // remote objects by flight key
	lastUsed map[string]time.Time  // digest → last returned by Fetch
	inFlight map[string]bool       // temporary names in CacheDir in use

	fetches, unpacks, downloads, downloaded, revalidated atomic.Int64
}

// New returns a Fetcher for opts. It has no side effects: the cache
// directory is created by the first Fetch.
func New(opts Options) *Fetcher {
	f := &Fetcher{
		opts:     opts,
		lim:      limits{download: opts.MaxDownloadBytes, unpacked: opts.MaxUnpackedBytes, entries: opts.MaxEntries, ratio: int64(opts.MaxRatio)},
		grace:    opts.PruneGrace,
		clock:    opts.Clock,
		log:      opts.Logger,
		files:    make(map[fileKey]fileMemo),
		remote:   make(map[string]remoteMemo),
		lastUsed: make(map[string]time.Time),
		inFlight: make(map[string]bool),
	}
	if f.lim.download == 0 {
		f.lim.download = DefaultMaxDownloadBytes
	}
	if f.lim.unpacked == 0 {
		f.lim.unpacked = DefaultMaxUnpackedBytes
	}
	if f.lim.entries == 0 {
		f.lim.entries = DefaultMaxEntries
	}
	if f.lim.ratio == 0 {
		f.lim.ratio = DefaultMaxRatio
	}
	if f.grace == 0 {
		f.grace = DefaultPruneGrace
	}
	if f.clock == nil {
		f.clock = systemClock{}
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	f.http = f.httpClient()
	return f
}

// Stats returns the Fetcher's counters.
func (f *Fetcher) Stats() Stats {
	return Stats{
		Fetches:         f.fetches.Load(),
		Unpacks:         f.unpacks.Load(),
		Downloads:       f.downloads.Load(),
		DownloadedBytes: f.downloaded.Load(),
		Revalidated:     f.revalidated.Load(),
	}
}

// Fetch makes the artifact at url available as a model directory and
// returns it. An empty url gives an empty model directory. Fetches of the
// same source or content are coalesced and served from the cache; a
// cancelled ctx abandons the caller's wait, and the work itself once no
// caller waits for it any more. Errors are [*Error] values.
func (f *Fetcher) Fetch(ctx context.Context, url string) (Artifact, error) {
	src, err := parseSource(url, f.opts.AllowHTTP)
	if err != nil {
		return Artifact{}, err
	}
	if err := ctx.Err(); err != nil {
		return Artifact{}, withURL(err, url)
	}
	a, _, err := f.byURL.do(ctx, src.flightKey(), func(ctx context.Context) (Artifact, error) {
		if err := f.prepareCache(); err != nil {
			return Artifact{}, err
		}
		switch src.kind {
		case srcFile:
			return f.fetchLocal(ctx, src)
		case srcS3, srcHTTP:
			return f.fetchRemote(ctx, src)
		default:
			return f.materialize(ctx, &plan{url: src.raw})
		}
	})
	if err != nil {
		return Artifact{}, withURL(err, url)
	}
	f.fetches.Add(1)
	return a, nil
}

func (f *Fetcher) prepareCache() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ready {
		return nil
	}
	if f.opts.CacheDir == "" {
		return &Error{Op: OpUnpack, Err: errors.New("no model cache directory is configured")}
	}
	// The cache is the server user's alone: it holds copies of files
	// that may have been readable by that user only.
	if err := os.MkdirAll(f.opts.CacheDir, 0o700); err != nil {
		return &Error{Op: OpUnpack, Err: fmt.Errorf("create model cache directory: %w", err)}
	}
	if err := os.Chmod(f.opts.CacheDir, 0o700); err != nil {
		return &Error{Op: OpUnpack, Err: fmt.Errorf("restrict model cache directory: %w", err)}
	}
	f.ready = true
	return nil
}

// plan says how to build one tree.
type plan struct {
	url     string      // for logs
	format  format      // of the file at path
	path    string      // archive or plain file to read; directory to copy
	dir     bool        // path is a directory, described by entries
	name    string      // plain file: its name in the model directory
	exec    bool        // plain file: executable
	sum     [32]byte    // SHA-256 the file at path must have
	file    *os.File    // path, opened by materialize
	size    int64       // Artifact.Size
	entries []treeEntry // directory: its listing
}

func (p *plan) digest() string {
	switch {
	case p.dir:
		return treeDigest(p.entries)
	case p.path == "":
		return treeDigest(nil)
	case p.format == formatPlain:
		return treeDigest([]treeEntry{{name: p.name, typ: typeFile, exec: p.exec, size: p.size, sum: p.sum}})
	default:
		return hex.EncodeToString(p.sum[:])
	}
}

// materialize returns the tree for p, building it unless the cache has it.
func (f *Fetcher) materialize(ctx context.Context, p *plan) (Artifact, error) {
	digest := p.digest()
	a := Artifact{Dir: f.treeDir(digest), Digest: digest, Size: p.size}
	if f.touch(digest) {
		return a, nil
	}
	if !p.dir && p.path != "" {
		// Open the file now: the fetch that downloaded it may remove it
		// while a build started by another fetch is about to read it.
		file, err := os.Open(p.path)
		if err != nil {
			return Artifact{}, &Error{Op: OpDownload, Err: fsError(err)}
		}
		p.file = file
	}
	_, started, err := f.byDigest.do(ctx, digest, func(ctx context.Context) (struct{}, error) {
		if p.file != nil {
			defer p.file.Close()
		}
		if f.touch(digest) {
			return struct{}{}, nil
		}
		return struct{}{}, f.build(ctx, p, digest)
	})
	if !started && p.file != nil {
		p.file.Close() // another fetch's build made the tree
	}
	if err != nil {
		return Artifact{}, err
	}
	return a, nil
}

// touch reports whether the tree for digest exists and, if so, protects it
// from Prune for the grace period.
func (f *Fetcher) touch(digest string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Lstat(f.treeDir(digest))
	if err != nil || !fi.IsDir() {
		return false
	}
	f.lastUsed[digest] = f.clock.Now()
	return true
}

// build unpacks or copies p into a temporary directory and renames it to
// the tree for digest.
func (f *Fetcher) build(ctx context.Context, p *plan, digest string) error {
	start := f.clock.Now()
	tmp, release, err := f.tempDir()
	if err != nil {
		return err
	}
	defer release()
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return &Error{Op: OpUnpack, Err: err}
	}
	defer root.Close()
	switch {
	case p.dir:
		err = f.copyDir(ctx, p, root)
	case p.path == "":
	case p.format == formatPlain:
		err = f.copyFile(ctx, p, root)
	default:
		err = f.unpackFile(ctx, p, root)
	}
	if err != nil {
		return err
	}
	if err := checkLinks(tmp); err != nil {
		return err
	}
	if err := makeReadOnly(tmp); err != nil {
		return &Error{Op: OpUnpack, Err: fmt.Errorf("make model directory read-only: %w", err)}
	}
	final := f.treeDir(digest)
	f.mu.Lock()
	err = os.Rename(tmp, final)
	if err == nil {
		f.lastUsed[digest] = f.clock.Now()
	}
	f.mu.Unlock()
	if err != nil {
		if f.touch(digest) {
			return nil // built meanwhile outside this Fetcher
		}
		return &Error{Op: OpUnpack, Err: fmt.Errorf("move model directory into the cache: %w", err)}
	}
	f.unpacks.Add(1)
	f.log.InfoContext(ctx, "model artifact unpacked", "url", p.url, "digest", digest,
		"format", p.format.String(), "bytes", p.size, "duration", f.clock.Now().Sub(start))
	return nil
}

// tempDir creates a temporary directory in the cache directory; release
// removes whatever is left of it.
func (f *Fetcher) tempDir() (string, func(), error) {
	dir, err := os.MkdirTemp(f.opts.CacheDir, ".tmp-")
	if err != nil {
		return "", nil, &Error{Op: OpUnpack, Err: fmt.Errorf("create temporary directory: %w", err)}
	}
	return dir, f.hold(filepath.Base(dir), dir), nil
}

// tempFile creates a temporary file in the cache directory.
func (f *Fetcher) tempFile() (*os.File, func(), error) {
	file, err := os.CreateTemp(f.opts.CacheDir, ".tmp-*.download")
	if err != nil {
		return nil, nil, &Error{Op: OpDownload, Err: fmt.Errorf("create temporary file: %w", err)}
	}
	return file, f.hold(filepath.Base(file.Name()), file.Name()), nil
}

// hold marks a temporary name as in use, so Prune leaves it alone, and
// returns the function that removes it.
func (f *Fetcher) hold(name, full string) func() {
	f.mu.Lock()
	f.inFlight[name] = true
	f.mu.Unlock()
	return func() {
		if err := removeTree(full); err != nil {
			f.log.Warn("remove temporary model files", "path", full, "err", err)
		}
		f.mu.Lock()
		delete(f.inFlight, name)
		f.mu.Unlock()
	}
}

// Prune removes from the cache directory every tree whose digest is not in
// keep, except trees returned by Fetch within [Options.PruneGrace], and
// leftovers of interrupted fetches. It returns the digests removed, sorted.
// Workers must not be using the removed trees; keep is the caller's list of
// digests in use.
func (f *Fetcher) Prune(ctx context.Context, keep map[string]bool) ([]string, error) {
	f.pruneMu.Lock()
	defer f.pruneMu.Unlock()
	dirents, err := os.ReadDir(f.opts.CacheDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("prune model cache: %w", err)
	}
	now := f.clock.Now()
	var removed, trash []string
	var errs []error
	f.mu.Lock()
	for _, d := range dirents {
		name := d.Name()
		switch {
		case isDigest(name):
			if keep[name] {
				continue
			}
			if t, ok := f.lastUsed[name]; ok && now.Sub(t) < f.grace {
				continue
			}
			// Move the tree out of the way while holding the lock, so a
			// concurrent Fetch either sees it whole or builds it anew.
			to := filepath.Join(f.opts.CacheDir, ".trash-"+name+"-"+randomSuffix())
			if err := os.Rename(filepath.Join(f.opts.CacheDir, name), to); err != nil {
				errs = append(errs, err)
				continue
			}
			delete(f.lastUsed, name)
			removed = append(removed, name)
			trash = append(trash, to)
		case strings.HasPrefix(name, ".tmp-") || strings.HasPrefix(name, ".trash-"):
			if !f.inFlight[name] {
				trash = append(trash, filepath.Join(f.opts.CacheDir, name))
			}
		}
	}
	f.mu.Unlock()
	for _, dir := range trash {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := removeTree(dir); err != nil {
			errs = append(errs, err)
		}
	}
	slices.Sort(removed)
	if len(removed) > 0 {
		f.log.InfoContext(ctx, "model cache pruned", "removed", len(removed))
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("prune model cache: %w", err)
	}
	return removed, nil
}

func randomSuffix() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
