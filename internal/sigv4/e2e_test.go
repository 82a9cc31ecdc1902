package sigv4

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/smithy-go"
)

// authServer is an HTTP server that verifies every request and answers like
// SageMaker: an AWS JSON error when verification fails, else a canned reply.
type authServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []Identity
}

func newAuthServer(t *testing.T, v *Verifier, region string) *authServer {
	t.Helper()
	s := &authServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id, err := v.Verify(r, body, Scope{Region: region, Service: "sagemaker"})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Header().Set("X-Amzn-ErrorType", e.Code)
			w.WriteHeader(e.HTTPStatus())
			json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
			return
		}
		s.mu.Lock()
		s.seen = append(s.seen, *id)
		s.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/endpoints/") {
			w.Header().Set("Content-Type", "text/csv")
			io.WriteString(w, "0.5\n")
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{"Models":[]}`)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *authServer) identities() []Identity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Identity(nil), s.seen...)
}

func TestSDKClientsAgainstVerifier(t *testing.T) {
	v, err := NewVerifier(testCredentials(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := newAuthServer(t, v, "us-west-2")
	ctx := context.Background()

	tests := []struct {
		name     string
		keyID    string
		secret   string
		token    string
		wantCode string // "" for success
	}{
		{name: "listed key pair", keyID: testKeyID, secret: testSecret},
		{name: "listed session credentials", keyID: tempKeyID, secret: tempSecret, token: tempToken},
		{name: "wrong secret", keyID: testKeyID, secret: "wrong", wantCode: CodeInvalidSignature},
		{name: "unlisted key", keyID: "AKIDUNLISTED", secret: testSecret, wantCode: CodeUnrecognizedClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			provider := credentials.NewStaticCredentialsProvider(tt.keyID, tt.secret, tt.token)
			sm := sagemaker.New(sagemaker.Options{
				Region: "us-west-2", BaseEndpoint: aws.String(srv.URL), Credentials: provider, RetryMaxAttempts: 1,
			})
			_, err := sm.ListModels(ctx, &sagemaker.ListModelsInput{})
			checkAPIError(t, "ListModels", err, tt.wantCode)

			rt := sagemakerruntime.New(sagemakerruntime.Options{
				Region: "us-west-2", BaseEndpoint: aws.String(srv.URL), Credentials: provider, RetryMaxAttempts: 1,
			})
			out, err := rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{
				EndpointName:     aws.String("my ep:1/β"),
				ContentType:      aws.String("text/csv"),
				Body:             []byte("1,2,3\n"),
				CustomAttributes: aws.String("  a   b  "),
			})
			checkAPIError(t, "InvokeEndpoint", err, tt.wantCode)
			if err == nil && string(out.Body) != "0.5\n" {
				t.Errorf("InvokeEndpoint body = %q", out.Body)
			}
		})
	}

	for _, id := range srv.identities() {
		if id.Region != "us-west-2" || id.Service != "sagemaker" || id.Presigned {
			t.Errorf("identity %+v: want a header-signed us-west-2/sagemaker request with a signed body", id)
		}
	}
	if n := len(srv.identities()); n != 4 {
		t.Errorf("%d requests verified, want 4 (two calls by each listed key)", n)
	}
}

func checkAPIError(t *testing.T, op string, err error, wantCode string) {
	t.Helper()
	if wantCode == "" {
		if err != nil {
			t.Errorf("%s: %v", op, err)
		}
		return
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("%s: err = %v, want API error %s", op, err, wantCode)
	}
	if apiErr.ErrorCode() != wantCode {
		t.Errorf("%s: error code %q (%s), want %q", op, apiErr.ErrorCode(), apiErr.ErrorMessage(), wantCode)
	}
}
