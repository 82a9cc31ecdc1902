package control

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"hearth"
	"hearth/internal/awserr"
	"hearth/internal/awsjson"
	"hearth/internal/store"
)

// DesiredWeightAndCapacity is one variant's change in
// UpdateEndpointWeightsAndCapacities.
type DesiredWeightAndCapacity struct {
	VariantName            *string                 `json:"VariantName"`
	DesiredWeight          *float32                `json:"DesiredWeight"`
	DesiredInstanceCount   *int32                  `json:"DesiredInstanceCount"`
	ServerlessUpdateConfig *ServerlessUpdateConfig `json:"ServerlessUpdateConfig"`
}

// ServerlessUpdateConfig changes a serverless variant's concurrency.
type ServerlessUpdateConfig struct {
	MaxConcurrency         *int32 `json:"MaxConcurrency"`
	ProvisionedConcurrency *int32 `json:"ProvisionedConcurrency"`
}

// UpdateWeightsInput is UpdateEndpointWeightsAndCapacities' request.
type UpdateWeightsInput struct {
	EndpointName                *string                    `json:"EndpointName"`
	DesiredWeightsAndCapacities []DesiredWeightAndCapacity `json:"DesiredWeightsAndCapacities"`
}

// UpdateEndpointWeightsAndCapacities changes variants' weights, instance
// counts and serverless capacity without changing what they run. The fleet
// resizes the running pools: added warm workers are up before the endpoint
// is InService again, and removed ones go only when idle. Application Auto
// Scaling applies its decisions through this operation.
func (s *Service) UpdateEndpointWeightsAndCapacities(ctx context.Context, in *UpdateWeightsInput) (map[string]string, error) {
	var v awserr.Violations
	checkName(&v, in.EndpointName, "endpointName", entityNameRE, entityNamePattern)
	if in.DesiredWeightsAndCapacities == nil {
		v.Add(nil, "desiredWeightsAndCapacities", notNull)
	} else if len(in.DesiredWeightsAndCapacities) < 1 {
		v.Add("[]", "desiredWeightsAndCapacities", minLen(1))
	}
	for i, d := range in.DesiredWeightsAndCapacities {
		p := fmt.Sprintf("desiredWeightsAndCapacities.%d.member", i+1)
		checkName(&v, d.VariantName, p+".variantName", entityNameRE, entityNamePattern)
		if d.DesiredWeight != nil && !weightOK(*d.DesiredWeight) {
			v.Add(weightText(*d.DesiredWeight), p+".desiredWeight", minVal(0))
		}
		if d.DesiredInstanceCount != nil && *d.DesiredInstanceCount < 0 {
			v.Add(*d.DesiredInstanceCount, p+".desiredInstanceCount", minVal(0))
		}
		if u := d.ServerlessUpdateConfig; u != nil {
			for _, f := range []struct {
				val  *int32
				name string
			}{{u.MaxConcurrency, "maxConcurrency"}, {u.ProvisionedConcurrency, "provisionedConcurrency"}} {
				if f.val == nil {
					continue
				}
				if *f.val < 1 {
					v.Add(*f.val, p+".serverlessUpdateConfig."+f.name, minVal(1))
				} else if *f.val > 200 {
					v.Add(*f.val, p+".serverlessUpdateConfig."+f.name, maxVal(200))
				}
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	name := *in.EndpointName
	s.mu.Lock()
	defer s.unlock()
	var rec endpointRecord
	var dep hearth.Deployment
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.Get(store.KindEndpoint, name, &rec); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return s.notFound(store.KindEndpoint, name)
			}
			return err
		}
		if rec.EndpointStatus != StatusInService || rec.Current == nil {
			return s.inProgress(name)
		}
		dep = cloneDeployment(*rec.Current)
		dep.Generation = rec.generation() + 1
		seen := map[string]bool{}
		for _, d := range in.DesiredWeightsAndCapacities {
			vn := *d.VariantName
			if seen[strings.ToLower(vn)] {
				return awserr.Validation("Variant %s appears more than once in DesiredWeightsAndCapacities.", vn)
			}
			seen[strings.ToLower(vn)] = true
			var target *hearth.Variant
			for i := range dep.Variants {
				if strings.EqualFold(dep.Variants[i].Name, vn) {
					target = &dep.Variants[i]
				}
			}
			if target == nil {
				return awserr.Validation("The variant name %s does not exist in endpoint %q.", vn, s.ARN(store.KindEndpoint, name))
			}
			if d.DesiredWeight != nil {
				target.Weight = float64(*d.DesiredWeight)
			}
			if d.DesiredInstanceCount != nil {
				if target.Serverless != nil {
					return awserr.Validation("DesiredInstanceCount cannot be set for serverless variant %s; use ServerlessUpdateConfig.", vn)
				}
				if *d.DesiredInstanceCount < 1 {
					return awserr.Validation("DesiredInstanceCount for variant %s must be at least 1.", vn)
				}
				target.InstanceCount = int(*d.DesiredInstanceCount)
			}
			if u := d.ServerlessUpdateConfig; u != nil {
				if target.Serverless == nil {
					return awserr.Validation("ServerlessUpdateConfig cannot be set for instance-based variant %s.", vn)
				}
				if u.MaxConcurrency != nil {
					target.Serverless.MaxConcurrency = int(*u.MaxConcurrency)
				}
				if u.ProvisionedConcurrency != nil {
					target.Serverless.ProvisionedConcurrency = int(*u.ProvisionedConcurrency)
				}
				if target.Serverless.ProvisionedConcurrency > target.Serverless.MaxConcurrency {
					return awserr.Validation("ProvisionedConcurrency (%d) must be less than or equal to MaxConcurrency (%d) for production variant %s.",
						target.Serverless.ProvisionedConcurrency, target.Serverless.MaxConcurrency, vn)
				}
			}
		}
		if err := s.admit(&dep); err != nil {
			return err
		}
		rec.Desired = &dep
		rec.EndpointStatus = StatusUpdating
		rec.FailureReason = ""
		rec.LastModifiedTime = awsjson.Timestamp{Time: s.now()}
		rec.ProductionVariants = summaries(rec.Current, &dep)
		return tx.Put(store.KindEndpoint, name, rec.CreationTime.Time, rec)
	})
	if err != nil {
		return nil, err
	}
	s.intend(func() { s.deployer.Deploy(dep) })
	return map[string]string{"EndpointArn": rec.EndpointArn}, nil
}

// cloneDeployment deep-copies d so the copy can be changed.
func cloneDeployment(d hearth.Deployment) hearth.Deployment {
	out := d
	out.Variants = make([]hearth.Variant, len(d.Variants))
	for i, v := range d.Variants {
		if v.Serverless != nil {
			sc := *v.Serverless
			v.Serverless = &sc
		}
		out.Variants[i] = v
	}
	return out
}

// ErrNoVariant is returned by VariantCapacity for an unknown endpoint or
// variant.
var ErrNoVariant = errors.New("no such endpoint variant")

// VariantCapacity returns a variant as the endpoint currently runs it, and
// whether the endpoint is InService (so a capacity change can be made).
func (s *Service) VariantCapacity(ctx context.Context, endpoint, variant string) (hearth.Variant, bool, error) {
	var rec endpointRecord
	err := s.store.View(ctx, func(tx *store.Tx) error { return tx.Get(store.KindEndpoint, endpoint, &rec) })
	if errors.Is(err, store.ErrNotFound) {
		return hearth.Variant{}, false, ErrNoVariant
	}
	if err != nil {
		return hearth.Variant{}, false, err
	}
	dep := rec.Current
	if dep == nil {
		dep = rec.Desired
	}
	if dep == nil || rec.EndpointStatus == StatusDeleting {
		return hearth.Variant{}, false, ErrNoVariant
	}
	for _, v := range dep.Variants {
		if strings.EqualFold(v.Name, variant) {
			return v, rec.EndpointStatus == StatusInService, nil
		}
	}
	return hearth.Variant{}, false, ErrNoVariant
}

// WaitInService waits until the endpoint is InService (or Failed, or gone)
// and returns its FailureReason, if any. It wakes on each report the fleet
// makes rather than polling.
func (s *Service) WaitInService(ctx context.Context, endpoint string) error {
	for {
		changed := s.watch()
		var rec endpointRecord
		err := s.store.View(ctx, func(tx *store.Tx) error { return tx.Get(store.KindEndpoint, endpoint, &rec) })
		switch {
		case errors.Is(err, store.ErrNotFound):
			return s.notFound(store.KindEndpoint, endpoint)
		case err != nil:
			return err
		case rec.EndpointStatus == StatusInService && rec.FailureReason == "":
			return nil
		case rec.EndpointStatus == StatusInService || rec.EndpointStatus == StatusFailed:
			return errors.New(rec.FailureReason)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return errors.New("the control plane is shutting down")
		case <-changed:
		}
	}
}
