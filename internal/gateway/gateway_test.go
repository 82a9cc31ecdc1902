package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"hearth/internal/control"
	"hearth/internal/fleet"
	"hearth/internal/gateway"
	"hearth/internal/runtime/process"
	"hearth/internal/store"
)

func newGateway(t testing.TB, auth gateway.Authenticator) *gateway.Gateway {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := fleet.New(fleet.Options{Runtime: &process.Runtime{}, ScratchDir: t.TempDir()})
	t.Cleanup(func() { f.Close(context.Background()) })
	ctl := control.New(st, f, control.Options{Region: "us-east-1", AccountID: "000000000000"})
	f.SetReporter(ctl)
	return gateway.New(gateway.Options{Control: ctl, Invoker: &gateway.Runtime{Fleet: f, AccountID: "000000000000"}, Auth: auth})
}

func do(g http.Handler, method, path, target, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	}
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	return rec
}

func TestRouting(t *testing.T) {
	g := newGateway(t, nil)
	if rec := do(g, "GET", "/healthz", "", ""); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("healthz before ready: %d", rec.Code)
	}
	g.SetReady(true)
	if rec := do(g, "GET", "/healthz", "", ""); rec.Code != http.StatusOK {
		t.Fatalf("healthz when ready: %d", rec.Code)
	}
	seen := map[string]bool{}
	for _, tc := range []struct {
		name, method, path, target, body string
		status                           int
		code                             string
	}{
		{"SageMaker operation", "POST", "/", "SageMaker.ListModels", "{}", 200, ""},
		{"unknown SageMaker operation", "POST", "/", "SageMaker.CreateTrainingJob", "{}", 400, "UnknownOperationException"},
		{"malformed JSON", "POST", "/", "SageMaker.ListModels", "{", 400, "SerializationException"},
		{"unknown service", "POST", "/", "DynamoDB_20120810.ListTables", "{}", 400, "UnknownOperationException"},
		{"invoke of a missing endpoint", "POST", "/endpoints/nope/invocations", "", "x", 400, "ValidationError"},
		{"unsupported runtime operation", "POST", "/endpoints/nope/async-invocations", "", "x", 404, "UnknownOperationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(g, tc.method, tc.path, tc.target, tc.body)
			if rec.Code != tc.status || rec.Header().Get("X-Amzn-ErrorType") != tc.code {
				t.Fatalf("status %d type %q body %s", rec.Code, rec.Header().Get("X-Amzn-ErrorType"), rec.Body)
			}
			id := rec.Header().Get("X-Amzn-Requestid")
			if !uuidShaped.MatchString(id) {
				t.Fatalf("request id %q, want a UUID-shaped id", id)
			}
			if seen[id] {
				t.Fatalf("request id %q given twice", id)
			}
			seen[id] = true
		})
	}
}

var uuidShaped = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestAuthenticatorGuardsEveryAPI(t *testing.T) {
	g := newGateway(t, testAuth(t))
	g.SetReady(true)
	for _, tc := range []struct{ path, target string }{
		{"/", "SageMaker.ListModels"},
		{"/", "AnyScaleFrontendService.DescribeScalableTargets"},
		{"/", "GraniteServiceVersion20100801.ListMetrics"},
		{"/", ""},
		{"/endpoints/x/invocations", ""},
		{"/metrics", ""},
	} {
		rec := do(g, "POST", tc.path, tc.target, "{}")
		if tc.path == "/metrics" {
			rec = do(g, "GET", tc.path, "", "")
		}
		var body map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != http.StatusForbidden || body["__type"] != "MissingAuthenticationTokenException" {
			t.Fatalf("%s %s: status %d body %s", tc.path, tc.target, rec.Code, rec.Body)
		}
	}
	// Health checks need no signature.
	if rec := do(g, "GET", "/healthz", "", ""); rec.Code != http.StatusOK {
		t.Fatalf("healthz: %d", rec.Code)
	}
}

// FuzzSageMakerRequests sends arbitrary bodies to every control-plane
// operation: each must answer with an AWS error or success — never a
// panic, never an internal error.
func FuzzSageMakerRequests(f *testing.F) {
	ops := []string{"CreateModel", "DescribeModel", "DeleteModel", "ListModels", "CreateEndpointConfig",
		"DescribeEndpointConfig", "DeleteEndpointConfig", "ListEndpointConfigs", "CreateEndpoint", "DescribeEndpoint",
		"UpdateEndpoint", "DeleteEndpoint", "ListEndpoints", "AddTags", "ListTags", "DeleteTags", "UpdateEndpointWeightsAndCapacities"}
	seeds := []string{
		`{"ModelName":"m","PrimaryContainer":{"Image":"sagemaker-xgboost:1.7-1","Environment":{"A":"b"}}}`,
		`{"EndpointConfigName":"c","ProductionVariants":[{"VariantName":"v","ModelName":"m","ServerlessConfig":{"MemorySizeInMB":2048,"MaxConcurrency":2,"ProvisionedConcurrency":1}}]}`,
		`{"EndpointName":"e","EndpointConfigName":"c"}`,
		`{"MaxResults":5,"SortBy":"Name","NameContains":"a","CreationTimeAfter":"2024-01-01T00:00:00Z"}`,
		`{"ResourceArn":"arn:aws:sagemaker:us-east-1:000000000000:model/m","Tags":[{"Key":"k","Value":"v"}]}`,
		`{"EndpointName":"e","DesiredWeightsAndCapacities":[{"VariantName":"v","ServerlessUpdateConfig":{"ProvisionedConcurrency":2}}]}`,
		`{"NextToken":"aGVhcnRoLXBhZ2U6MQ"}`, `[]`, `null`, `{"ModelName":5}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), s)
	}
	g := newGateway(f, nil)
	g.SetReady(true)
	f.Fuzz(func(t *testing.T, op uint8, body string) {
		rec := do(g, "POST", "/", "SageMaker."+ops[int(op)%len(ops)], body)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: status %d %s", ops[int(op)%len(ops)], body, rec.Code, rec.Body)
		}
		var e map[string]any
		if rec.Code != 200 && (json.Unmarshal(rec.Body.Bytes(), &e) != nil || e["__type"] == nil) {
			t.Fatalf("%s %q: error without an AWS shape: %s", ops[int(op)%len(ops)], body, rec.Body)
		}
	})
}
