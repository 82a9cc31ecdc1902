// Package awsapi holds what Hearth's AWS APIs share across services and
// protocols: the timestamp codec (JSON epoch seconds, CBOR tag 1, ISO 8601
// for awsQuery) and the page token. Every list operation pages with a
// NextToken that names its position and is bound to the request that
// produced it, so a token replayed with other filters is refused, as AWS
// refuses it. (The AWS error value is awserr.Error; the JSON codec, with
// NaN and the infinities, is awsjson.)
package awsapi

import (
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
	"strconv"
)

// PageToken is the decoded form of a NextToken.
type PageToken struct {
	// Query is the index of the sub-query the page stopped in, for
	// operations that answer several (GetMetricData).
	Query int `json:"q,omitempty"`
	// Offset is the position of the page's first item.
	Offset int `json:"o"`
	// Hash binds the token to its request (RequestHash).
	Hash string `json:"h"`
}

// RequestHash digests the request members that decide a listing, so a
// token can only continue the listing it came from.
func RequestHash(parts ...any) string {
	b, _ := json.Marshal(parts) // request shapes always marshal
	f := fnv.New64a()
	f.Write(b)
	return strconv.FormatUint(f.Sum64(), 36)
}

// Encode returns the token as clients see it.
func (t PageToken) Encode() string {
	b, _ := json.Marshal(t) // a PageToken always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodePageToken reads a NextToken; ok is false when s is not a token
// of the request whose hash is given.
func DecodePageToken(s, hash string) (t PageToken, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Hash != hash || t.Offset < 0 || t.Query < 0 {
		return PageToken{}, false
	}
	return t, true
}
