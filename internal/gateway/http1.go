package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
	"strings"

	"hearth/internal/awserr"
	"hearth/internal/http1"
)

var endpointsPrefix = []byte("/endpoints/")

// Claim tells the invocation route's server (http1) which requests the
// gateway serves through it: InvokeEndpoint's POST /endpoints/…; it hands
// every other request to net/http and ServeHTTP.
func (g *Gateway) Claim(method, target []byte) bool {
	return g.opts.Invoker != nil && string(method) == http.MethodPost && bytes.HasPrefix(target, endpointsPrefix)
}

// ServeHTTP1 serves a request Claim took, as ServeHTTP serves the same
// request from net/http: the same request id, signature check (header
// first, then the body's hash), body limits and errors.
func (g *Gateway) ServeHTTP1(ctx context.Context, ex *http1.Exchange) {
	w := ex.ResponseWriter()
	w.Header()["X-Amzn-Requestid"] = []string{g.requestID()}
	path, _, _ := strings.Cut(ex.Target(), "?")

	var (
		sum    hash.Hash
		finish func(string) error
	)
	if g.opts.Auth != nil {
		r, err := ex.Request()
		if err != nil {
			// Not reached in practice: http1 declines what net/http cannot read.
			g.reject(w, ex, awserr.New("SerializationException", http.StatusBadRequest, "Unable to parse the request: %v", err))
			return
		}
		f, err := g.opts.Auth.Begin(r, signingName(r, path))
		if err != nil {
			g.reject(w, ex, err)
			return
		}
		finish, sum = f, sha256.New()
	}
	body, err := ex.ReadBody(g.opts.MaxBody, sum, g.opts.BodyGrace, g.opts.BodyMinRate)
	switch {
	case errors.Is(err, http1.ErrBodyTooLarge):
		g.reject(w, ex, g.errBodyTooLarge())
		return
	case errors.Is(err, http1.ErrBodyTimeout):
		g.reject(w, ex, g.errBodyTimeout())
		return
	case err != nil:
		g.reject(w, ex, errBodyRead(err))
		return
	}
	if finish != nil {
		if err := finish(hex.EncodeToString(sum.Sum(nil))); err != nil {
			g.reject(w, ex, err)
			return
		}
	}
	g.serveInvoke(ctx, w, http.MethodPost, path[len(endpointsPrefix):], ex, body)
}
