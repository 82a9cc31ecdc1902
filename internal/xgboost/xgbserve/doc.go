// Package xgbserve serves an XGBoost model over HTTP the way the SageMaker
// XGBoost container (algorithm mode) does, so that clients of a SageMaker
// XGBoost endpoint see the same answers from a worker that starts in
// milliseconds.
//
// Routes: GET /ping answers 200 with an empty body (the model is loaded before
// the server listens); POST /invocations scores a payload; GET
// /execution-parameters gives batch transform hints.
//
// Requests follow the container: text/csv (no header, no label column, one
// row per line, an empty field is missing; parameters such as charset are
// ignored, label_size must be 1), text/libsvm and text/x-libsvm (labels
// optional; each index:value pair sets the column its index names, as the
// container's own parser does; features absent from a line are missing), and
// no Content-Type at all is read as libsvm. Any other type is refused with 415.
// An empty body answers 204. A payload that does not parse (naming the row and
// column), more columns than the model has features, or, for a pickled model,
// a column count the container rejects, answers 400 "Unable to evaluate
// payload provided: ..." (the container itself answers 415 for the first);
// a body over MAX_CONTENT_LENGTH (default 6291456, at most 20 MiB) answers
// 413.
//
// Responses follow Accept: text/csv (the default, also for an empty Accept or
// */*, overridable with SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT) gives one row per
// line, newline-terminated, the values of a multi:softprob row
// comma-separated; application/json gives {"predictions": [{"score": 0.43},
// ...]} (a list per row for multi:softprob); application/jsonlines gives one
// {"score": ...} object per line. Any other Accept answers 406. With
// SAGEMAKER_INFERENCE_OUTPUT set (e.g. "predicted_label,probabilities") each
// prediction carries the selected keys instead, with the values and layout
// the container's serve_utils gives them, for the objectives it supports.
//
// Numbers print as the container prints them: the float32 prediction widened
// to float64 and written as Python's repr writes a float (shortest digits that
// read back to the same float64: 0.43861907720565796, 9.316294670104980 as
// 9.31629467010498, 1e-05), JSON in Python's json.dumps layout.
package xgbserve
