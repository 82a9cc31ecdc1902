// Package cloudwatch serves the CloudWatch metrics API — GetMetricStatistics,
// GetMetricData (MetricStat queries; metric math is refused),
// ListMetrics and PutMetricData — over a metrics.Store, so the AWS CLI,
// boto3 and the AWS SDKs read Hearth's metrics with --endpoint-url; and,
// with Alarms, metric alarms: PutMetricAlarm, DescribeAlarms,
// DescribeAlarmsForMetric, DeleteAlarms, SetAlarmState,
// Enable/DisableAlarmActions, DescribeAlarmHistory and alarm tags, stored
// in the embedded store and evaluated (package alarm) each time a period
// ends, running Application Auto Scaling actions through an ActionRunner.
//
// One http.Handler speaks the three protocols CloudWatch clients use:
//
//   - rpcv2Cbor (aws-sdk-go-v2): POST .../service/GraniteServiceVersion20100801/operation/<Op>,
//     CBOR bodies (gzip accepted), timestamps as CBOR tag 1;
//   - awsJson1.0 (botocore ≥ 1.42.7, AWS CLI ≥ 2.32.14): POST with
//     X-Amz-Target: GraniteServiceVersion20100801.<Op>, epoch-second timestamps;
//   - awsQuery (older CLIs and SDKs): form Action=<Op>&Version=2010-08-01,
//     .member.N lists, ISO 8601 timestamps, XML replies.
//
// Errors carry CloudWatch's codes in each protocol's shape: a __type body
// plus X-Amzn-Query-Error: <code>;Sender for CBOR and JSON, an
// <ErrorResponse> for awsQuery. Every reply has an x-amzn-RequestId.
// Requests are validated completely before anything is recorded, so a
// rejected PutMetricData changes nothing.
//
// A gateway serving several APIs on one port routes with Match, which
// looks at the path, X-Amz-Target, and for form bodies the SigV4
// credential scope (service "monitoring") or, failing that, the first
// 4 KiB of the body (restoring it). Signatures are the gateway's job.
//
//	cw := cloudwatch.NewHandler(store, cloudwatch.Options{Account: account})
//	...
//	if cloudwatch.Match(r) { // after SigV4 verification
//		cw.ServeHTTP(w, r)
//		return
//	}
package cloudwatch
