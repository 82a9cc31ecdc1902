"""Exceptions of sagemaker_containers."""


class ClientError(Exception):
    """An error in user-provided code."""


class UnsupportedFormatError(Exception):
    """No decoder or encoder for a content type."""

    def __init__(self, content_type, **kwargs):
        self.message = (
            "Content type %s is not supported by this framework.\n\n"
            "Please implement input_fn to to deserialize the request data or an output_fn to\n"
            "serialize the response. For more information, see the SageMaker Python SDK README." % content_type
        )
        super().__init__(self.message, **kwargs)
