// Package autoscaling is Application Auto Scaling for SageMaker endpoint
// variants: scalable targets (provisioned concurrency of serverless
// variants, instance counts of instance-based ones), target-tracking
// policies and scheduled actions, each change recorded as a scaling
// activity — the AnyScaleFrontendService API, with AWS's validation and
// errors, persisted in the store.
//
// The decisions themselves are pure functions in the tracking and schedule
// subpackages; Loop owns the ticker (on an injected clock) that reads the
// metrics, asks them, and applies the answers through a Scaler — in Hearth,
// the control plane's UpdateEndpointWeightsAndCapacities.
package autoscaling
