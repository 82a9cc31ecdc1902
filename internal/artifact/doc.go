// Package artifact makes a model's artifact (the ModelDataUrl of a SageMaker
// model) available as a local, read-only model directory, the SM_MODEL_DIR a
// worker is started with.
//
// A [Fetcher] fetches the artifact from its source, unpacks it and keeps the
// result in a content-addressed cache:
//
//	f := artifact.New(artifact.Options{CacheDir: dir, S3: s3Client})
//	a, err := f.Fetch(ctx, "s3://models/abalone/model.tar.gz")
//	// a.Dir is <CacheDir>/<a.Digest>, ready to hand to a worker.
//
// # Sources
//
// A ModelDataUrl may be
//
//   - empty: the model has no artifact and gets an empty model directory;
//   - s3://bucket/key: an object in any S3-compatible store, read with the
//     [S3Client] given in [Options] (see [NewS3Client]);
//   - https://host/path, or http:// when [Options.AllowHTTP] is set;
//   - file:///abs/path or a plain absolute path, naming a file or a
//     directory on the local machine.
//
// [ValidateURL] and [Fetcher.ValidateURL] check the syntax without fetching.
//
// # What ends up in the model directory
//
// A tar archive, gzip-compressed or not, is unpacked. Archives are recognised
// by their content, not by their name; a file named *.tar.gz, *.tgz or *.tar
// whose content is not an archive is refused. SageMaker requires a .tar.gz;
// Hearth is more lenient: any other file (an XGBoost model saved on its own,
// a gzip-compressed file that is not a tar archive) is placed into the model
// directory under the base name of its URL, and a local directory is copied
// as it is.
//
// # Safety
//
// Archives come from users and are untrusted. Unpacking refuses, naming the
// entry at fault, entries with absolute names or ".." elements, entries
// beneath a symlink of the same archive, symlinks and hard links that resolve
// outside the model directory, and device, FIFO and other special entries.
// Limits bound the bytes downloaded, the bytes and entries unpacked, and the
// expansion ratio of a compressed archive (a decompression bomb is stopped
// early). Unpacking happens in a temporary directory beside the cache, which
// is renamed into place only once complete: a failed fetch leaves nothing
// behind. Finished trees are made read-only (directories 0555, files 0444 or
// 0555) because all workers of an endpoint share them.
//
// # Cache
//
// Each tree lives at <CacheDir>/<digest>, where the digest is the SHA-256 of
// the archive bytes, or, for a plain file, a directory or no artifact, the
// SHA-256 of a canonical listing of the resulting tree (names, kinds,
// executable bits, sizes and content digests). The same content is unpacked
// once whichever URL it comes from, and concurrent fetches of one URL or one
// digest are coalesced. Local files are hashed again only when their path,
// size, modification time, mode or inode change; remote objects are
// revalidated with a conditional request on their ETag, so a fetch of an
// unchanged object transfers no body. [Fetcher.Prune] removes trees that are
// no longer needed.
//
// Errors are [*Error] values whose text is suitable for an endpoint's
// FailureReason; their causes can be told apart with errors.Is against
// [ErrInvalidURL], [ErrNotFound], [ErrAccessDenied], [ErrTooLarge],
// [ErrUnsafeEntry], [ErrBadArchive] and [ErrSourceChanged].
package artifact
