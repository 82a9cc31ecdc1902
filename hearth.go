// Package hearth holds the nouns shared by Hearth's control plane and its
// fleet of workers: what an endpoint is asked to run (a Deployment of
// Variants, each backed by a Model) and how the fleet reports back on it.
// The control plane decides what should run; the fleet (internal/fleet) makes
// it run. Neither imports the other: both speak these types.
package hearth

import "context"

// Deployment is one generation of an endpoint's desired state: every variant
// with the model it serves and the capacity it gets. A new generation is
// made by CreateEndpoint, UpdateEndpoint and UpdateEndpointWeightsAndCapacities.
type Deployment struct {
	Endpoint   string    `json:"Endpoint"`
	ConfigName string    `json:"ConfigName"`
	Generation int64     `json:"Generation"`
	Variants   []Variant `json:"Variants"`
}

// Variant is one production variant of a deployment.
type Variant struct {
	Name   string  `json:"Name"`
	Model  Model   `json:"Model"`
	Weight float64 `json:"Weight"`
	// Serverless is set for serverless variants; otherwise the variant is
	// instance-based with InstanceCount always-warm workers.
	Serverless    *Serverless `json:"Serverless,omitempty"`
	InstanceType  string      `json:"InstanceType,omitempty"`
	InstanceCount int         `json:"InstanceCount,omitempty"`
}

// Serverless is a serverless variant's capacity.
type Serverless struct {
	MemorySizeInMB         int `json:"MemorySizeInMB"`
	MaxConcurrency         int `json:"MaxConcurrency"`
	ProvisionedConcurrency int `json:"ProvisionedConcurrency,omitempty"`
}

// Model is what a worker runs: the container image (a built-in runtime or a
// local executable), its artifact and environment.
type Model struct {
	Name         string            `json:"Name"`
	Image        string            `json:"Image"`
	ModelDataURL string            `json:"ModelDataUrl,omitempty"`
	Environment  map[string]string `json:"Environment,omitempty"`
	// NetworkIsolation is the model's EnableNetworkIsolation: its workers
	// get no network egress.
	NetworkIsolation bool `json:"NetworkIsolation,omitempty"`
}

// MemoryMB is the memory a variant's worker is sized for. Instance-based
// variants are sized at the smallest serverless size.
func (v *Variant) MemoryMB() int {
	if v.Serverless != nil {
		return v.Serverless.MemorySizeInMB
	}
	return 1024
}

// Outcome is how far a deployment got.
type Outcome int

const (
	// Ready: every variant is serving traffic.
	Ready Outcome = iota
	// Failed: the deployment could not be brought up; Reason says why.
	Failed
	// Removed: the endpoint's workers have drained and stopped after a delete.
	Removed
)

// Report is the fleet's word on one deployment generation.
type Report struct {
	Endpoint   string
	Generation int64
	Outcome    Outcome
	Reason     string
}

// Reporter receives the fleet's reports. The control plane implements it.
type Reporter interface {
	Report(ctx context.Context, r Report)
}

// Deployer runs deployments. The fleet implements it; every method returns
// without waiting for workers, and progress arrives through a Reporter.
type Deployer interface {
	// Admit says whether the deployment's always-warm capacity fits the
	// host (the memory budget). It is called before anything is stored.
	Admit(d Deployment) error
	// Deploy brings d up; once it is Ready, traffic moves to it and the
	// endpoint's previous generation drains and stops.
	Deploy(d Deployment)
	// Restore brings back, after a restart, a deployment that was serving:
	// it takes traffic at once — requests start workers on demand or wait
	// for them — while its always-warm workers come up. It reports Failed
	// if the deployment cannot be brought back.
	Restore(d Deployment)
	// Remove drains and stops the endpoint's workers, then reports Removed.
	Remove(endpoint string, generation int64)
}
