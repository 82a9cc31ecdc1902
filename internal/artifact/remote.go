package artifact

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// S3Client is the part of the S3 API a Fetcher uses. *s3.Client satisfies
// it; see [NewS3Client].
type S3Client interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ S3Client = (*s3.Client)(nil)

// remoteMemo remembers what a remote object held when last fetched.
type remoteMemo struct {
	etag   string
	digest string
	size   int64
}

// object is an open remote object.
type object struct {
	body        io.ReadCloser
	size        int64 // -1 if unknown
	etag        string
	notModified bool
}

// fetchRemote fetches an s3:// or http(s):// URL. If the object was fetched
// before and its tree is still cached, the request is conditional on the
// remembered ETag, and a "not modified" answer transfers nothing.
func (f *Fetcher) fetchRemote(ctx context.Context, src source) (Artifact, error) {
	key := src.flightKey()
	f.mu.Lock()
	memo, known := f.remote[key]
	f.mu.Unlock()
	etag := ""
	if known && f.touch(memo.digest) {
		etag = memo.etag
	}
	obj, err := f.open(ctx, src, etag)
	if err != nil {
		return Artifact{}, &Error{Op: OpDownload, Err: err}
	}
	if obj.notModified {
		f.revalidated.Add(1)
		if f.touch(memo.digest) {
			return Artifact{Dir: f.treeDir(memo.digest), Digest: memo.digest, Size: memo.size}, nil
		}
		// Pruned since the check above: fetch unconditionally.
		if obj, err = f.open(ctx, src, ""); err != nil {
			return Artifact{}, &Error{Op: OpDownload, Err: err}
		}
	}
	p, release, err := f.spool(ctx, src, obj)
	if err != nil {
		return Artifact{}, err
	}
	defer release()
	a, err := f.materialize(ctx, p)
	if err != nil {
		return Artifact{}, err
	}
	if obj.etag != "" {
		f.mu.Lock()
		f.remote[key] = remoteMemo{etag: obj.etag, digest: a.Digest, size: a.Size}
		f.mu.Unlock()
	}
	return a, nil
}

func (f *Fetcher) treeDir(digest string) string {
	return filepath.Join(f.opts.CacheDir, digest)
}

// spool copies the object's body to a temporary file, hashing it and
// enforcing the download limit, and plans the tree from it.
func (f *Fetcher) spool(ctx context.Context, src source, obj object) (*plan, func(), error) {
	defer obj.body.Close()
	if f.lim.download > 0 && obj.size > f.lim.download {
		return nil, nil, &Error{Op: OpDownload, Err: classify(ErrTooLarge, "the object is %s, more than the limit of %s", formatBytes(obj.size), formatBytes(f.lim.download))}
	}
	file, release, err := f.tempFile()
	if err != nil {
		return nil, nil, err
	}
	ok := false
	defer func() {
		if !ok {
			release()
		}
	}()
	h := sha256.New()
	var body io.Reader = obj.body
	if f.lim.download > 0 {
		body = io.LimitReader(body, f.lim.download+1)
	}
	n, err := copyCtx(ctx, io.MultiWriter(file, h), body)
	f.downloads.Add(1)
	f.downloaded.Add(n)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return nil, nil, &Error{Op: OpDownload, Err: err}
	case f.lim.download > 0 && n > f.lim.download:
		return nil, nil, &Error{Op: OpDownload, Err: classify(ErrTooLarge, "the object is larger than the limit of %s", formatBytes(f.lim.download))}
	case obj.size >= 0 && n != obj.size:
		return nil, nil, &Error{Op: OpDownload, Err: fmt.Errorf("the transfer ended after %d of %d bytes", n, obj.size)}
	}
	p := &plan{url: src.raw, path: file.Name(), name: src.baseName(), size: n}
	h.Sum(p.sum[:0])
	in, err := os.Open(file.Name())
	if err != nil {
		return nil, nil, &Error{Op: OpDownload, Err: err}
	}
	p.format, err = detect(in)
	in.Close()
	if err != nil {
		return nil, nil, &Error{Op: OpDownload, Err: err}
	}
	if err := checkFormat(p); err != nil {
		return nil, nil, err
	}
	f.log.InfoContext(ctx, "model artifact downloaded", "url", src.raw, "bytes", n, "format", p.format.String())
	ok = true
	return p, release, nil
}

// open starts reading a remote object, conditionally on etag if it is set.
func (f *Fetcher) open(ctx context.Context, src source, etag string) (object, error) {
	if src.kind == srcS3 {
		return f.openS3(ctx, src, etag)
	}
	return f.openHTTP(ctx, src, etag)
}

func (f *Fetcher) openS3(ctx context.Context, src source, etag string) (object, error) {
	if f.opts.S3 == nil {
		return object{}, errors.New("no S3 client is configured for s3:// model data")
	}
	in := &s3.GetObjectInput{Bucket: aws.String(src.bucket), Key: aws.String(src.key)}
	if etag != "" {
		in.IfNoneMatch = aws.String(etag)
	}
	out, err := f.opts.S3.GetObject(ctx, in)
	if err != nil {
		var re *awshttp.ResponseError
		if etag != "" && errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotModified {
			return object{notModified: true}, nil
		}
		return object{}, s3Error(err)
	}
	obj := object{body: out.Body, size: -1, etag: aws.ToString(out.ETag)}
	if out.ContentLength != nil {
		obj.size = *out.ContentLength
	}
	return obj, nil
}

// s3Error reduces an S3 error to its code and message, which is what a user
// can act on, keeping the full error for errors.As.
func s3Error(err error) error {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return err
	}
	text := api.ErrorCode()
	if msg := api.ErrorMessage(); msg != "" {
		text += ": " + msg
	}
	var kind error
	switch api.ErrorCode() {
	case "NoSuchKey", "NoSuchBucket", "NotFound":
		kind = ErrNotFound
	case "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken":
		kind = ErrAccessDenied
	}
	return &classified{kind: kind, text: text, cause: err}
}

func (f *Fetcher) openHTTP(ctx context.Context, src source, etag string) (object, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.url.String(), nil)
	if err != nil {
		return object{}, err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := f.http.Do(req)
	if err != nil {
		return object{}, err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && etag != "":
		resp.Body.Close()
		return object{notModified: true}, nil
	case resp.StatusCode == http.StatusOK:
		obj := object{body: resp.Body, size: resp.ContentLength, etag: resp.Header.Get("ETag")}
		if strings.HasPrefix(obj.etag, "W/") {
			obj.etag = "" // a weak validator does not promise identical bytes
		}
		return obj, nil
	}
	resp.Body.Close()
	text := "HTTP " + resp.Status
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusGone:
		return object{}, classify(ErrNotFound, "%s", text)
	case http.StatusUnauthorized, http.StatusForbidden:
		return object{}, classify(ErrAccessDenied, "%s", text)
	default:
		return object{}, errors.New(text)
	}
}

// httpClient returns the client for http(s) URLs: the configured one, with
// redirects to plain http refused unless allowed.
func (f *Fetcher) httpClient() *http.Client {
	c := &http.Client{}
	if f.opts.HTTPClient != nil {
		*c = *f.opts.HTTPClient
	}
	next := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" && !(req.URL.Scheme == "http" && f.opts.AllowHTTP) {
			return fmt.Errorf("refusing redirect to %s", req.URL.Redacted())
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return c
}
