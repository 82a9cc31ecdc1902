"""The modules scikit-learn inference scripts import from
sagemaker_containers.beta.framework."""
from sagemaker_containers import _content_types as content_types  # noqa: F401
from sagemaker_containers import _encoders as encoders  # noqa: F401
from sagemaker_containers import _errors as errors  # noqa: F401
from sagemaker_containers import _worker as worker  # noqa: F401
