package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"hearth/internal/fleet"
	"hearth/internal/logs"
	"hearth/internal/runtime"
)

// Runtime serves SageMaker Runtime's InvokeEndpoint (restJson1) over a fleet.
type Runtime struct {
	Fleet     *fleet.Fleet
	Region    string
	AccountID string
}

// ServeInvoke implements Invoker. endpoint is the name, decoded once from
// the path and checked by the gateway.
func (rt *Runtime) ServeInvoke(ctx context.Context, w http.ResponseWriter, hdr Header, endpoint string, body []byte) {
	name := endpoint
	req := &fleet.Request{
		Request: runtime.Request{
			ContentType:      hdr.Get("Content-Type"),
			Accept:           hdr.Get("Accept"),
			CustomAttributes: hdr.Get("X-Amzn-SageMaker-Custom-Attributes"),
			InferenceID:      hdr.Get("X-Amzn-SageMaker-Inference-Id"),
			Body:             body,
		},
		Endpoint:      name,
		TargetVariant: hdr.Get("X-Amzn-SageMaker-Target-Variant"),
		RequestID:     w.Header().Get("X-Amzn-Requestid"),
	}
	if req.ContentType == "" {
		// botocore sends none; SageMaker defaults it.
		req.ContentType = "application/octet-stream"
	}
	if len(req.CustomAttributes) > 1024 {
		rt.writeError(w, "ValidationError", http.StatusBadRequest, "1 validation error detected: Value at 'customAttributes' failed to satisfy constraint: Member must have length less than or equal to 1024", nil)
		return
	}
	if id := req.InferenceID; id != "" && len(id) > 64 {
		rt.writeError(w, "ValidationError", http.StatusBadRequest, "1 validation error detected: Value at 'inferenceId' failed to satisfy constraint: Member must have length less than or equal to 64", nil)
		return
	}
	resp, err := rt.Fleet.Invoke(ctx, req)
	if err != nil {
		rt.writeInvokeError(w, ctx, name, err)
		return
	}
	// Canonical keys set directly, and the served-by values shared: the
	// invocation route is the hot path.
	h := w.Header()
	if resp.ContentType != "" {
		h["Content-Type"] = []string{resp.ContentType}
	}
	h["X-Amzn-Invoked-Production-Variant"] = []string{resp.Variant}
	if resp.CustomAttributes != "" {
		h["X-Amzn-Sagemaker-Custom-Attributes"] = []string{resp.CustomAttributes}
	}
	if int(resp.Served) < len(servedValues) {
		h[ServedHeader] = servedValues[resp.Served] // already canonical
	}
	h["Content-Length"] = []string{strconv.Itoa(len(resp.Body))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp.Body)
}

// servedValues are the ServedHeader values by fleet.Served; net/http only
// reads them.
var servedValues = [...][]string{
	fleet.WarmProvisioned: {fleet.WarmProvisioned.String()},
	fleet.WarmOnDemand:    {fleet.WarmOnDemand.String()},
	fleet.Cold:            {fleet.Cold.String()},
	fleet.Throttled:       {fleet.Throttled.String()},
}

// ServedHeader tells a client how its invocation was served:
// warm-provisioned, warm-on-demand or cold.
const ServedHeader = "X-Hearth-Served-By"

func (rt *Runtime) writeInvokeError(w http.ResponseWriter, ctx context.Context, endpoint string, err error) {
	var fe *fleet.Error
	if !errors.As(err, &fe) {
		rt.writeError(w, "InternalFailure", http.StatusInternalServerError, "An internal error occurred.", nil)
		return
	}
	switch fe.Kind {
	case fleet.NotFound, fleet.NotInService, fleet.NoVariant:
		rt.writeError(w, "ValidationError", http.StatusBadRequest, fe.Message, nil)
	case fleet.TooLarge:
		rt.writeError(w, "ValidationError", http.StatusRequestEntityTooLarge, fe.Message, nil)
	case fleet.Throttle:
		rt.writeError(w, "ThrottlingException", http.StatusTooManyRequests, fe.Message, nil)
	case fleet.ModelFailure:
		rt.writeModelError(w, fe)
	case fleet.Unavailable:
		rt.writeError(w, "ServiceUnavailable", http.StatusServiceUnavailable, fe.Message, nil)
	default:
		if ctx.Err() != nil {
			return // the client has gone
		}
		rt.writeError(w, "ModelError", http.StatusFailedDependency, fe.Message, map[string]any{
			"ErrorCode":          "SERVER_ERROR_FROM_MODEL",
			"OriginalStatusCode": 500,
			"OriginalMessage":    fe.Message,
			"LogStreamArn":       rt.logGroupArn(fe.Endpoint),
		})
	}
}

func (rt *Runtime) logGroupArn(endpoint string) string {
	return logs.GroupARN(rt.Region, rt.AccountID, logs.EndpointGroup(endpoint))
}

// writeModelError renders a model's non-2xx answer as SageMaker does.
func (rt *Runtime) writeModelError(w http.ResponseWriter, fe *fleet.Error) {
	kind, code := "client", "CLIENT_ERROR_FROM_MODEL"
	if fe.ModelStatus >= 500 {
		kind, code = "server", "SERVER_ERROR_FROM_MODEL"
	}
	orig := string(fe.ModelBody)
	msg := fmt.Sprintf("Received %s error (%d) from primary with message %q. See https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#logEventViewer:group=/aws/sagemaker/Endpoints/%s in account %s for more information.",
		kind, fe.ModelStatus, orig, rt.Region, rt.Region, fe.Endpoint, rt.AccountID)
	rt.writeError(w, "ModelError", http.StatusFailedDependency, msg, map[string]any{
		"ErrorCode":          code,
		"OriginalStatusCode": fe.ModelStatus,
		"OriginalMessage":    orig,
		"LogStreamArn":       rt.logGroupArn(fe.Endpoint),
	})
}

func (rt *Runtime) writeError(w http.ResponseWriter, code string, status int, msg string, fields map[string]any) {
	body := map[string]any{"message": msg}
	if fields != nil {
		body = fields
		body["Message"] = msg
	}
	b, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", code)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
