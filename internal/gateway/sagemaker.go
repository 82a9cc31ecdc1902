package gateway

import (
	"context"
	"net/http"

	"hearth/internal/awserr"
	"hearth/internal/awsjson"
	"hearth/internal/control"
)

// operation decodes an awsJson request body, runs it and returns the
// output to encode.
type operation func(ctx context.Context, body []byte) (any, error)

// op adapts a typed operation method to the table.
func op[I any, O any](f func(context.Context, *I) (O, error)) operation {
	return func(ctx context.Context, body []byte) (any, error) {
		in := new(I)
		if err := awsjson.DecodeBytes(body, in); err != nil {
			return nil, err
		}
		return f(ctx, in)
	}
}

// sageMakerOps is the SageMaker control-plane operation table.
func sageMakerOps(c *control.Service) map[string]operation {
	return map[string]operation{
		"CreateModel":                        op(c.CreateModel),
		"DescribeModel":                      op(c.DescribeModel),
		"DeleteModel":                        op(c.DeleteModel),
		"ListModels":                         op(c.ListModels),
		"CreateEndpointConfig":               op(c.CreateEndpointConfig),
		"DescribeEndpointConfig":             op(c.DescribeEndpointConfig),
		"DeleteEndpointConfig":               op(c.DeleteEndpointConfig),
		"ListEndpointConfigs":                op(c.ListEndpointConfigs),
		"CreateEndpoint":                     op(c.CreateEndpoint),
		"DescribeEndpoint":                   op(c.DescribeEndpoint),
		"UpdateEndpoint":                     op(c.UpdateEndpoint),
		"DeleteEndpoint":                     op(c.DeleteEndpoint),
		"ListEndpoints":                      op(c.ListEndpoints),
		"AddTags":                            op(c.AddTags),
		"ListTags":                           op(c.ListTags),
		"DeleteTags":                         op(c.DeleteTags),
		"UpdateEndpointWeightsAndCapacities": op(c.UpdateEndpointWeightsAndCapacities),
	}
}

// serveJSON runs an awsJson operation from table and writes its result.
func (g *Gateway) serveJSON(w http.ResponseWriter, r *http.Request, body []byte, service, opName string, table map[string]operation, contentType string) {
	f, ok := table[opName]
	if !ok {
		awsjson.WriteError(w, contentType, awserr.New("UnknownOperationException", http.StatusBadRequest,
			"Operation %s is not supported by %s on this server.", opName, service))
		return
	}
	out, err := f(r.Context(), body)
	if err != nil {
		g.writeJSONError(w, r.Header, contentType, err)
		return
	}
	awsjson.Write(w, contentType, out)
}

// writeJSONError renders err as an AWS JSON error; an error that is not
// an AWS one is logged and answered as InternalFailure.
func (g *Gateway) writeJSONError(w http.ResponseWriter, h Header, contentType string, err error) {
	e, ok := awserr.As(err)
	if !ok {
		g.log.Error("request failed", "target", h.Get("X-Amz-Target"), "err", err)
		e = awserr.Internal("InternalFailure")
	}
	awsjson.WriteError(w, contentType, e)
}
