package docker

// DecodeECRToken is decodeECRToken, for tests.
var DecodeECRToken = decodeECRToken
