"""sagemaker_containers.beta: the framework API."""
