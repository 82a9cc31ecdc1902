"""The base class framework handlers extend: defaults for input_fn and
output_fn, none for model_fn and predict_fn."""
import textwrap

from sagemaker_inference import decoder, encoder, errors, utils


class DefaultInferenceHandler(object):
    def default_model_fn(self, model_dir, context=None):
        raise NotImplementedError(textwrap.dedent("""
        Please provide a model_fn implementation.
        See documentation for model_fn at https://sagemaker.readthedocs.io/en/stable/
        """))

    def default_input_fn(self, input_data, content_type, context=None):
        return decoder.decode(input_data, content_type)

    def default_predict_fn(self, data, model, context=None):
        raise NotImplementedError(textwrap.dedent("""
        Please provide a predict_fn implementation.
        See documentation for predict_fn at https://sagemaker.readthedocs.io/en/stable/
        """))

    def default_output_fn(self, prediction, accept, context=None):
        for content_type in utils.parse_accept(accept):
            if content_type in encoder.SUPPORTED_CONTENT_TYPES:
                return encoder.encode(prediction, content_type), content_type
        raise errors.UnsupportedFormatError(accept)
