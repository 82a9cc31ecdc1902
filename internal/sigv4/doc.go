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
//	id, err := v.Verify(r, body)
//	var authErr *sigv4.Error
//	if errors.As(err, &authErr) {
//		// render authErr.Code and authErr.Message with authErr.Status
//	}
//
// Both forms of SigV4 are accepted: the Authorization header and the
// presigned query string (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
// X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature). The canonical request
// is rebuilt the way aws-sdk-go-v2 and botocore build it for services other
// than S3: the path exactly as it arrived on the wire, URI-encoded once more
// segment by segment; query parameters decoded, re-encoded and sorted after
// encoding; the signed headers lower-cased with runs of spaces collapsed and
// repeated values joined by commas; and the hex SHA-256 of the body, or
// UNSIGNED-PAYLOAD when X-Amz-Content-Sha256 says so.
//
// Failures are *Error values carrying the error code and message AWS itself
// returns (MissingAuthenticationTokenException, IncompleteSignatureException,
// UnrecognizedClientException, InvalidSignatureException), so clients see
// what they would see from AWS.
package sigv4
