package main

import (
	"context"
	"errors"
	"io"
	"time"

	"hearth/internal/autoscaling"
	"hearth/internal/control"
	"hearth/internal/logs"
)

// scalingTargets lets Application Auto Scaling read and change endpoint
// capacity through the control plane, as AWS's service-linked role does
// with UpdateEndpointWeightsAndCapacities.
type scalingTargets struct {
	control *control.Service
	// wait bounds how long a capacity change may take to be in service.
	wait time.Duration
}

func (t scalingTargets) Capacity(ctx context.Context, endpoint, variant string) (autoscaling.Capacity, error) {
	v, inService, err := t.control.VariantCapacity(ctx, endpoint, variant)
	if errors.Is(err, control.ErrNoVariant) {
		return autoscaling.Capacity{}, autoscaling.ErrNoVariant
	}
	if err != nil {
		return autoscaling.Capacity{}, err
	}
	c := autoscaling.Capacity{InService: inService, Instances: v.InstanceCount}
	if s := v.Serverless; s != nil {
		c.Serverless, c.Provisioned, c.MaxConcurrency = true, s.ProvisionedConcurrency, s.MaxConcurrency
	}
	return c, nil
}

// SetCapacity applies the change; Settled then says when the new warm
// workers serve, so that the scaling activity ends when the change is done.
func (t scalingTargets) SetCapacity(ctx context.Context, endpoint, variant, dimension string, n int) error {
	want := control.DesiredWeightAndCapacity{VariantName: &variant}
	c := int32(n)
	if dimension == autoscaling.DimProvisioned {
		want.ServerlessUpdateConfig = &control.ServerlessUpdateConfig{ProvisionedConcurrency: &c}
	} else {
		want.DesiredInstanceCount = &c
	}
	_, err := t.control.UpdateEndpointWeightsAndCapacities(ctx, &control.UpdateWeightsInput{
		EndpointName: &endpoint, DesiredWeightsAndCapacities: []control.DesiredWeightAndCapacity{want},
	})
	return err
}

// Settled waits (bounded by the startup timeout) until the endpoint is
// InService again after a capacity change.
func (t scalingTargets) Settled(ctx context.Context, endpoint string) error {
	ctx, cancel := context.WithTimeout(ctx, t.wait)
	defer cancel()
	return t.control.WaitInService(ctx, endpoint)
}

var _ autoscaling.Settler = scalingTargets{}

// workerLogs sends what workers print to CloudWatch Logs' store, where
// SageMaker puts it: group /aws/sagemaker/Endpoints/<endpoint>, stream
// <variant>/<worker id>.
type workerLogs struct{ st *logs.Store }

func (l workerLogs) WorkerOutput(endpoint, stream string) io.WriteCloser {
	return l.st.NewStreamWriter(logs.EndpointGroup(endpoint), stream)
}
