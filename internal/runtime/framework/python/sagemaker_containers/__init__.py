"""Hearth's implementation of the parts of sagemaker_containers that
inference scripts for the SageMaker scikit-learn container import:
sagemaker_containers.beta.framework's content_types, encoders, errors and
worker.Response."""
