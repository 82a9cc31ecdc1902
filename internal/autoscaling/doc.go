// Package autoscaling is Application Auto Scaling for SageMaker endpoint
// variants: scalable targets (provisioned concurrency of serverless
// variants, instance counts of instance-based ones) with their tags,
// target-tracking and step scaling policies and scheduled actions, each
// change recorded as a scaling activity — the AnyScaleFrontendService API,
// with AWS's validation and errors, persisted in the store.
//
// Step policies are run by CloudWatch alarm actions (ExecutePolicy). A
// target-tracking policy stands for two alarms; with an AlarmKeeper they
// are real CloudWatch alarms whose states decide it.
//
// The decisions themselves are pure functions in the tracking and schedule
// subpackages; Loop owns the ticker (on an injected clock) that reads the
// metrics, asks them, and applies the answers through a Scaler — in Hearth,
// the control plane's UpdateEndpointWeightsAndCapacities.
package autoscaling
