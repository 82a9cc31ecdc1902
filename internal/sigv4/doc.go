// Package sigv4 authenticates requests signed with AWS Signature Version 4,
// the scheme every AWS SDK and the AWS CLI use, so that Hearth can require
// the key pairs listed in a shared-credentials file on every API it serves.
//
// A credentials file in the format of ~/.aws/credentials is read with
// ParseCredentialsFile or LoadCredentialsFile; NewVerifier indexes its key
// pairs, and Verifier.Verify checks one request:
//
//	creds, err := sigv4.LoadCredentialsFile(path)
//	...
//	v, err := sigv4.NewVerifier(creds, clock)
//	...
//	id, err := v.Verify(r, body, sigv4.Scope{Region: "us-east-1", Service: "sagemaker"})
//	var authErr *sigv4.Error
//	if errors.As(err, &authErr) {
//		// render authErr.Code and authErr.Message with authErr.Status
//	}
//
// A server that streams bodies calls Begin before reading the body, which
// checks all that the header says (form, signing time, credential scope, key,
// the headers that must be signed), then Pending.Finish with the body's hash.
//
// The rules are those AWS enforces for its JSON and query services: the
// credential scope must name the server's region and the service the
// request is for; host, the date and every x-amz-* header present (so
// X-Amz-Target, which names the operation) must be signed; the payload hash
// is always the body's own (UNSIGNED-PAYLOAD is never honoured); a signing
// time may lie at most 15 minutes from the clock, and a presigned request
// lives at most its X-Amz-Expires, itself at most 7 days.
//
// Both forms of SigV4 are accepted: the Authorization header and the
// presigned query string (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
// X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature). The canonical request
// is rebuilt the way aws-sdk-go-v2 and botocore build it for services other
// than S3: the path exactly as it arrived on the wire, URI-encoded once more
// segment by segment; query parameters decoded, re-encoded and sorted after
// encoding; the signed headers lower-cased with runs of spaces collapsed and
// repeated values joined by commas; and the hex SHA-256 of the body.
//
// Failures are *Error values carrying the error code and message AWS itself
// returns (MissingAuthenticationTokenException, IncompleteSignatureException,
// UnrecognizedClientException, InvalidSignatureException), so clients see
// what they would see from AWS.
package sigv4
