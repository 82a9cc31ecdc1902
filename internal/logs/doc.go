// Package logs keeps what workers print, as CloudWatch Logs does, and
// serves the CloudWatch Logs API over it.
//
// # Ingestion
//
// A Store holds log groups, streams and events in the server's SQLite
// database (tables log_groups, log_streams, log_chunks). Workers' output
// reaches it through a StreamWriter:
//
//	w := st.NewStreamWriter("/aws/sagemaker/Endpoints/my-ep", "AllTraffic/w-1")
//	spec.Output = w // the runtime copies stdout and stderr here
//	…
//	w.Close()       // emits a last line that had no newline
//
// Write splits what it is given into lines, stamps every line with the
// time it arrived (from the Store's clock) and puts them on a bounded
// in-memory queue; it never touches the database and never blocks on it.
// One appender goroutine takes everything queued and writes it in a single
// transaction, at most once per Options.FlushInterval unless the queue is
// half full. When the queue is full, lines are dropped and counted
// (Dropped) rather than slowing the worker.
//
// # Bounds
//
// Each group keeps at most Options.MaxGroupBytes of events (an event
// counts its message length plus 26 bytes, as CloudWatch Logs bills it);
// past that the oldest events are dropped until the group is back under
// nine tenths of the bound. A group's retention (PutRetentionPolicy) hides
// older events from every read at once and deletes them at the next sweep.
//
// # API
//
// Service implements DescribeLogGroups, DescribeLogStreams, GetLogEvents,
// FilterLogEvents, DeleteLogGroup, PutRetentionPolicy and
// DeleteRetentionPolicy with CloudWatch Logs' shapes, tokens and errors;
// the gateway serves them over awsJson1.1 (X-Amz-Target Logs_20140328.*).
// Filter patterns are parsed by ParsePattern: terms, quoted phrases,
// -exclusions, ?alternatives and %regular expressions%.
package logs
