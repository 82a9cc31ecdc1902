package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Clock tells the time; the Verifier compares signing times against it.
type Clock interface {
	Now() time.Time
}

// Limits AWS applies to signing times.
const (
	// MaxSkew is how far a signing time may lie from the server's clock, in
	// either direction.
	MaxSkew = 15 * time.Minute
	// MaxPresignExpiry is the longest X-Amz-Expires accepted (one week).
	MaxPresignExpiry = 7 * 24 * time.Hour
)

// Identity describes the credential a verified request was signed with.
type Identity struct {
	Profile     string // profile of the credentials file holding the key
	AccessKeyID string
	// Region and Service are the credential scope as the client sent it.
	Region  string
	Service string
	// SigningTime is the request's X-Amz-Date (or Date).
	SigningTime time.Time
	// Presigned is true when the signature came in the query string.
	Presigned bool
}

// Scope is what a request's credential scope must name: the region the
// server answers for and the signing name of the service the request is
// for (sagemaker, application-autoscaling, monitoring, ...).
type Scope struct {
	Region  string
	Service string
}

// Verifier checks SigV4 signatures against a fixed set of credentials. It is
// safe for concurrent use.
type Verifier struct {
	keys  map[string]key // by access key ID
	clock Clock
}

type key struct {
	profile string
	Credential
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// NewVerifier returns a Verifier accepting every key pair in creds (by
// profile name, as ParseCredentialsFile returns them) and taking the time
// from clock; a nil clock is the system clock. Two profiles may share an
// access key ID only if they agree on its secret and session token.
func NewVerifier(creds map[string]Credential, clock Clock) (*Verifier, error) {
	if len(creds) == 0 {
		return nil, fmt.Errorf("sigv4: no credentials")
	}
	if clock == nil {
		clock = systemClock{}
	}
	names := make([]string, 0, len(creds))
	for name := range creds {
		names = append(names, name)
	}
	slices.Sort(names)
	keys := make(map[string]key, len(creds))
	for _, name := range names {
		c := creds[name]
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return nil, fmt.Errorf("sigv4: profile %q lacks an access key ID or secret", name)
		}
		if prev, ok := keys[c.AccessKeyID]; ok {
			if prev.Credential != c {
				return nil, fmt.Errorf("sigv4: profiles %q and %q give access key %s different secrets", prev.profile, name, c.AccessKeyID)
			}
			continue
		}
		keys[c.AccessKeyID] = key{profile: name, Credential: c}
	}
	return &Verifier{keys: keys, clock: clock}, nil
}

// Verify authenticates r, whose complete body is body, as a request for the
// service and region in want, and returns who signed it. A failure is an
// *Error to send back to the client. r.Body is not read. A request carrying
// both an Authorization header and presigned query parameters is judged by
// its header.
func (v *Verifier) Verify(r *http.Request, body []byte, want Scope) (*Identity, error) {
	p, err := v.Begin(r, want)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	return p.Finish(hex.EncodeToString(sum[:]))
}

// VerifyHash is Verify for a caller that has streamed the body itself:
// payloadSHA256Hex is the hex-encoded SHA-256 of the body as received (of
// nothing, for an empty body). An authentication failure is an *Error; a
// malformed payloadSHA256Hex is a plain error.
func (v *Verifier) VerifyHash(r *http.Request, payloadSHA256Hex string, want Scope) (*Identity, error) {
	p, err := v.Begin(r, want)
	if err != nil {
		return nil, err
	}
	return p.Finish(payloadSHA256Hex)
}

// Pending is a request whose signature has been checked as far as it can be
// without its body: Finish completes the check with the body's hash.
type Pending struct {
	r      *http.Request
	s      signed
	k      key
	prefix string // the canonical request up to the payload hash
}

// Begin checks everything about r's signature that does not need its body:
// the form of the Authorization header or presigned query, the signing time
// against the clock, the credential scope against want, that the access key
// is known, and that host, the date and every x-amz-* header present are
// signed. A server calls it before reading the body, so that an
// unauthenticated client costs it nothing more than the request's header.
// A failure is an *Error.
func (v *Verifier) Begin(r *http.Request, want Scope) (*Pending, error) {
	path, rawQuery := wireTarget(r)
	query, _ := url.ParseQuery(rawQuery) // unparsable pairs are dropped, as by the SDK's signer

	var (
		s   signed
		err error
	)
	if hdr, ok := r.Header["Authorization"]; ok {
		s, err = fromHeader(r, hdr[0])
	} else if query.Has("X-Amz-Algorithm") || query.Has("X-Amz-Credential") || query.Has("X-Amz-Signature") {
		s, err = fromQuery(r, query)
	} else {
		return nil, errMissingToken()
	}
	if err != nil {
		return nil, err
	}
	if err := checkSignedHeaders(r, s); err != nil {
		return nil, err
	}

	// The signing day in the scope must be the day of the signing time.
	if day := s.date.Format(scopeDayFormat); s.scope.Day != day {
		return nil, errInvalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			s.scope.Day, day, formatAmzDate(s.date))
	}
	if s.scope.Region != want.Region {
		return nil, errInvalid("Credential should be scoped to a valid region, not '%s'. ", s.scope.Region)
	}
	if s.scope.Service != want.Service {
		return nil, errInvalid("Credential should be scoped to correct service: '%s'. ", want.Service)
	}
	now := v.clock.Now().UTC()
	if s.date.After(now.Add(MaxSkew)) {
		return nil, errNotYetCurrent(s.date, now, MaxSkew)
	}
	window := MaxSkew
	if s.hasExpires {
		window = s.expires
	}
	if s.date.Before(now.Add(-window)) {
		return nil, errExpired(s.date, now, window)
	}

	k, ok := v.keys[s.scope.AccessKeyID]
	if !ok {
		return nil, errUnrecognized()
	}
	if k.SessionToken != "" && subtle.ConstantTimeCompare([]byte(s.token), []byte(k.SessionToken)) != 1 {
		return nil, errUnrecognized()
	}

	skip := ""
	if s.presigned {
		skip = "X-Amz-Signature"
	}
	prefix := r.Method + "\n" + canonicalURI(path) + "\n" + canonicalQuery(query, skip) + "\n" +
		canonicalHeaders(r, s.signedHeaders) + "\n" + s.signedList + "\n"
	return &Pending{r: r, s: s, k: k, prefix: prefix}, nil
}

// Finish verifies the signature over the request and the body whose
// hex-encoded SHA-256 is payloadSHA256Hex. The payload hash is always the
// body's: these services do not accept UNSIGNED-PAYLOAD, and what the
// client says in X-Amz-Content-Sha256 is only a signed header. An
// authentication failure is an *Error; a malformed payloadSHA256Hex is a
// plain error.
func (p *Pending) Finish(payloadSHA256Hex string) (*Identity, error) {
	h := strings.ToLower(payloadSHA256Hex)
	if len(h) != sha256.Size*2 {
		return nil, fmt.Errorf("sigv4: payload hash %q is not a hex SHA-256", payloadSHA256Hex)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return nil, fmt.Errorf("sigv4: payload hash %q is not a hex SHA-256", payloadSHA256Hex)
	}
	s := p.s
	canonical := p.prefix + h
	sum := sha256.Sum256([]byte(canonical))
	toSign := algorithm + "\n" + formatAmzDate(s.date) + "\n" + s.scope.String() + "\n" + hex.EncodeToString(sum[:])
	want := hex.EncodeToString(hmacSHA256(deriveKey(p.k.SecretAccessKey, s.scope), toSign))
	if subtle.ConstantTimeCompare([]byte(want), []byte(s.signature)) != 1 {
		e := errInvalid("%s", msgSignatureMismatch)
		e.CanonicalRequest, e.StringToSign = canonical, toSign
		return nil, e
	}
	return &Identity{
		Profile:     p.k.profile,
		AccessKeyID: p.k.AccessKeyID,
		Region:      s.scope.Region,
		Service:     s.scope.Service,
		SigningTime: s.date,
		Presigned:   s.presigned,
	}, nil
}

// checkSignedHeaders requires what AWS requires to be signed, so that no
// part of the request that selects or changes what it does can be swapped
// under a captured signature: host, the date the signature is dated by
// (X-Amz-Date, or Date when that is what the header form used) and every
// x-amz-* header present, X-Amz-Target included.
func checkSignedHeaders(r *http.Request, s signed) error {
	signedSet := make(map[string]bool, len(s.signedHeaders))
	for _, n := range s.signedHeaders {
		signedSet[strings.ToLower(n)] = true
	}
	if !signedSet["host"] {
		return errIncomplete("%s", msgHostNotSigned)
	}
	if !s.presigned && r.Header.Get("X-Amz-Date") == "" && !signedSet["date"] {
		return errIncomplete("'Date' must be a 'SignedHeader' in the AWS Authorization.")
	}
	var unsigned []string
	for name := range r.Header {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-amz-") && !signedSet[lower] {
			unsigned = append(unsigned, lower)
		}
	}
	if len(unsigned) > 0 {
		slices.Sort(unsigned)
		return errIncomplete("There were headers present in the request which were not signed: %s", strings.Join(unsigned, ", "))
	}
	return nil
}

// signed is what a request claims about its signature, from either form.
type signed struct {
	scope         scope
	signedHeaders []string
	signedList    string // SignedHeaders as sent
	signature     string
	date          time.Time
	presigned     bool
	expires       time.Duration // presigned only, when hasExpires
	hasExpires    bool          // X-Amz-Expires was given
	token         string        // X-Amz-Security-Token
}

// fromHeader reads the signature from an Authorization header.
func fromHeader(r *http.Request, header string) (signed, error) {
	a, err := parseAuthorization(header)
	if err != nil {
		return signed{}, err
	}
	amzDate, dateHeader := r.Header.Get("X-Amz-Date"), r.Header.Get("Date")
	var missing []string
	if !a.HasCredential {
		missing = append(missing, "Credential")
	}
	if !a.HasSignature {
		missing = append(missing, "Signature")
	}
	if !a.HasSignedHeaders {
		missing = append(missing, "SignedHeaders")
	}
	if amzDate == "" && dateHeader == "" {
		missing = append(missing, "date")
	}
	if len(missing) > 0 {
		return signed{}, errIncomplete("%s", missingParamsMessage(missing, header))
	}
	if a.Algorithm != algorithm {
		return signed{}, errIncomplete("Unsupported AWS 'algorithm': '%s'", a.Algorithm)
	}
	sc, err := parseScope(a.Credential)
	if err != nil {
		return signed{}, err
	}
	names := strings.Split(a.SignedHeaders, ";")
	var date time.Time
	if amzDate != "" {
		date, err = parseAmzDate(amzDate)
	} else if date, err = http.ParseTime(dateHeader); err != nil {
		err = errIncomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", dateHeader)
	}
	if err != nil {
		return signed{}, err
	}
	return signed{
		scope:         sc,
		signedHeaders: names,
		signedList:    a.SignedHeaders,
		signature:     a.Signature,
		date:          date.UTC(),
		token:         r.Header.Get("X-Amz-Security-Token"),
	}, nil
}

// fromQuery reads the signature from presigned query parameters.
func fromQuery(r *http.Request, q url.Values) (signed, error) {
	for _, p := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"} {
		if q.Get(p) == "" {
			return signed{}, errIncomplete("%s", msgQueryParams)
		}
	}
	if alg := q.Get("X-Amz-Algorithm"); alg != algorithm {
		return signed{}, errIncomplete("X-Amz-Algorithm only supports \"%s\"", algorithm)
	}
	sc, err := parseScope(q.Get("X-Amz-Credential"))
	if err != nil {
		return signed{}, err
	}
	list := q.Get("X-Amz-SignedHeaders")
	names := strings.Split(list, ";")
	date, err := parseAmzDate(q.Get("X-Amz-Date"))
	if err != nil {
		return signed{}, err
	}
	var expires time.Duration
	hasExpires := q.Has("X-Amz-Expires")
	if hasExpires {
		secs, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
		switch {
		case err != nil:
			return signed{}, errIncomplete("X-Amz-Expires should be a number")
		case secs < 0:
			return signed{}, errIncomplete("X-Amz-Expires must be non-negative")
		case secs > int64(MaxPresignExpiry/time.Second):
			return signed{}, errIncomplete("X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds")
		}
		expires = time.Duration(secs) * time.Second
	}
	return signed{
		scope:         sc,
		signedHeaders: names,
		signedList:    list,
		signature:     q.Get("X-Amz-Signature"),
		date:          date,
		presigned:     true,
		expires:       expires,
		hasExpires:    hasExpires,
		token:         q.Get("X-Amz-Security-Token"),
	}, nil
}

// deriveKey computes the signing key for a secret and credential scope.
func deriveKey(secret string, sc scope) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), sc.Day)
	k = hmacSHA256(k, sc.Region)
	k = hmacSHA256(k, sc.Service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
