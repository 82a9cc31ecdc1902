// Package integration holds Hearth's end-to-end tests: each starts real
// `hearth serve` processes on loopback and drives them with the real AWS
// clients — aws-sdk-go-v2, and boto3 and the AWS CLI where installed —
// exactly as a user would. It has no non-test code beyond the harness.
package integration
