// Package gateway is Hearth's single HTTP front door. Every AWS API Hearth
// speaks arrives on one port: the gateway checks the request's Signature V4
// (when credentials are configured), tells the APIs apart — SageMaker and
// Application Auto Scaling by X-Amz-Target, CloudWatch by its protocol
// markers, SageMaker Runtime by path — decodes the protocol, calls the
// domain package, and renders results and errors in the shape the AWS SDKs
// parse. Domain packages never see HTTP.
package gateway
