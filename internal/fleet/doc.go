// Package fleet runs endpoints: for every variant of an endpoint's active
// deployment it keeps a pool of workers — model-server processes that
// honour the SageMaker container contract and serve one request at a time —
// and routes each invocation the way SageMaker Serverless does: to an idle
// provisioned worker, else to an idle warm on-demand worker, else to a new
// on-demand worker started for it (a cold start) while fewer than
// MaxConcurrency requests are in flight, else it refuses the request
// (throttling). Provisioned workers are kept at their count and replaced at
// once when they die; on-demand workers stop after the keep-warm period
// without requests; the sum of running workers' memory stays within the
// host budget, evicting idle on-demand workers least-recently-used.
//
// The fleet implements hearth.Deployer: deployments come in from the
// control plane without blocking it, and the outcome goes back through a
// hearth.Reporter.
package fleet
