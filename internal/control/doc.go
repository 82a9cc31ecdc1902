// Package control is Hearth's SageMaker control plane: models, endpoint
// configurations and endpoints, with every field rule AWS enforces and its
// error codes and messages, stored durably in the store. It records desired
// state and hands deployments to a hearth.Deployer without waiting for
// workers; the deployer's reports move endpoints through Creating, Updating,
// InService, Failed and Deleting. The operations take and return the
// SageMaker API shapes; the gateway does the wire protocol.
package control
