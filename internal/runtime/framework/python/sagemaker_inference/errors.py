"""Exceptions of the inference toolkit. A BaseInferenceToolkitError raised
by a handler function sets the response's status code and body."""


class UnsupportedFormatError(Exception):
    """The request's content type, or the Accept type, has no decoder or
    encoder."""

    def __init__(self, content_type, **kwargs):
        self._message = (
            "Content type %s is not supported by this framework.\n\n"
            "Please implement input_fn to to deserialize the request data or an output_fn to\n"
            "serialize the response. For more information, see the SageMaker Python SDK README." % content_type
        )
        super().__init__(self._message, **kwargs)


class BaseInferenceToolkitError(Exception):
    """An error with the HTTP status code, message and phrase to answer."""

    def __init__(self, status_code, message, phrase):
        self.status_code = status_code
        self.message = message
        self.phrase = phrase
        super().__init__(status_code, message, phrase)


class GenericInferenceToolkitError(BaseInferenceToolkitError):
    """A BaseInferenceToolkitError with default message and phrase."""

    def __init__(self, status_code, message=None, phrase=None):
        message = message or "Invalid Request"
        phrase = phrase or message
        super().__init__(status_code, message, phrase)
