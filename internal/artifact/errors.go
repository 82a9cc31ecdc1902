package artifact

import (
	"errors"
	"fmt"
)

// Causes of a failed fetch, to be tested with errors.Is. The text of an
// [*Error] describes the particular case; these values only classify it.
var (
	// ErrInvalidURL: the ModelDataUrl is not one Hearth can fetch.
	ErrInvalidURL = errors.New("invalid model data URL")
	// ErrNotFound: the object, file or URL does not exist.
	ErrNotFound = errors.New("model data not found")
	// ErrAccessDenied: the source refused access.
	ErrAccessDenied = errors.New("access to model data denied")
	// ErrTooLarge: a download, size, entry-count or expansion limit was hit.
	ErrTooLarge = errors.New("model artifact too large")
	// ErrUnsafeEntry: an archive or directory entry could escape the model
	// directory or is of a kind a model directory may not contain.
	ErrUnsafeEntry = errors.New("unsafe entry in model artifact")
	// ErrBadArchive: an archive is damaged, or a file named like an archive
	// is not one.
	ErrBadArchive = errors.New("bad model archive")
	// ErrSourceChanged: a local source changed while it was being read.
	ErrSourceChanged = errors.New("model data changed while being read")
)

// Op is the stage at which a fetch failed.
type Op string

// Stages of a fetch.
const (
	OpValidate Op = "validate" // parsing the URL
	OpDownload Op = "download" // reading the source
	OpUnpack   Op = "unpack"   // building the model directory
)

// Error reports why a model artifact could not be made available. Its text
// is meant to be shown to the user as is, for example as an endpoint's
// FailureReason:
//
//	Failed to download model data from "s3://b/k": NoSuchKey: The specified key does not exist.
//	model artifact "file:///x.tar.gz": entry "../../etc/passwd" escapes the model directory
type Error struct {
	URL   string // the ModelDataUrl as given
	Op    Op     // the stage that failed
	Entry string // the archive entry or source-relative path at fault, if any
	Err   error  // the cause; errors.Is matches the Err* values above
}

func (e *Error) Error() string {
	switch {
	case e.Op == OpValidate:
		return fmt.Sprintf("invalid model data URL %q: %v", e.URL, e.Err)
	case e.Op == OpDownload:
		return fmt.Sprintf("Failed to download model data from %q: %v", e.URL, e.Err)
	case e.Entry != "":
		return fmt.Sprintf("model artifact %q: entry %q %v", e.URL, e.Entry, e.Err)
	default:
		return fmt.Sprintf("model artifact %q: %v", e.URL, e.Err)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// classified is an error with its own text that matches one of the Err*
// values (kind), and optionally wraps an underlying error too (cause).
type classified struct {
	kind  error
	text  string
	cause error
}

func (e *classified) Error() string { return e.text }

func (e *classified) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.kind, e.cause} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// classify returns an error whose text is the formatted message and which
// matches kind. A %w verb in format also makes the wrapped error match.
func classify(kind error, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &classified{kind: kind, text: err.Error(), cause: errors.Unwrap(err)}
}

// entryError reports an error for one entry of the model tree.
func entryError(entry string, kind error, format string, args ...any) error {
	return &Error{Op: OpUnpack, Entry: entry, Err: classify(kind, format, args...)}
}

// withURL returns err attributed to url. Errors may be shared by coalesced
// fetches, so an *Error is copied rather than changed.
func withURL(err error, url string) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.URL = url
		return &c
	}
	return &Error{URL: url, Op: OpDownload, Err: err}
}
