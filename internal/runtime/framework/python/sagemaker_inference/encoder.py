"""Encoders from array-likes to response bodies."""
import io
import json

import numpy as np

from sagemaker_inference import content_types, errors


def _array_to_json(array_like):
    def default(o):
        if hasattr(o, "tolist"):
            return o.tolist()
        return json.JSONEncoder().default(o)

    return json.dumps(array_like, default=default)


def _array_to_npy(array_like):
    buf = io.BytesIO()
    np.save(buf, array_like)
    return buf.getvalue()


def _array_to_csv(array_like):
    stream = io.StringIO()
    np.savetxt(stream, array_like, delimiter=",", fmt="%s")
    return stream.getvalue()


_encoder_map = {
    content_types.NPY: _array_to_npy,
    content_types.CSV: _array_to_csv,
    content_types.JSON: _array_to_json,
}

SUPPORTED_CONTENT_TYPES = set(_encoder_map.keys())


def encode(array_like, content_type):
    """Encode array_like as content_type."""
    try:
        encoder = _encoder_map[content_type]
    except KeyError:
        raise errors.UnsupportedFormatError(content_type)
    return encoder(array_like)
