package logs

// EndpointGroup is the log group of an endpoint's workers, named as
// SageMaker names it.
func EndpointGroup(endpoint string) string { return "/aws/sagemaker/Endpoints/" + endpoint }

// WorkerStream is the stream of one worker of a variant. SageMaker names
// streams <VariantName>/<instance id>; a worker is Hearth's instance.
func WorkerStream(variant, workerID string) string { return variant + "/" + workerID }
