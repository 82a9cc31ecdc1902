"""Decoders from request bodies to numpy arrays (scipy sparse for NPZ)."""
import io
import json

import numpy as np

from sagemaker_inference import content_types, errors


def _json_to_numpy(string_like, dtype=None):
    return np.array(json.loads(string_like), dtype=dtype)


def _csv_to_numpy(string_like, dtype=None):
    if isinstance(string_like, bytes):
        string_like = string_like.decode("utf-8")
    return np.genfromtxt(io.StringIO(string_like), dtype=dtype, delimiter=",")


def _npy_to_numpy(npy_array):
    return np.load(io.BytesIO(npy_array), allow_pickle=True)


def _npz_to_sparse(npz_bytes):
    import scipy.sparse

    return scipy.sparse.load_npz(io.BytesIO(npz_bytes))


_decoder_map = {
    content_types.NPY: _npy_to_numpy,
    content_types.CSV: _csv_to_numpy,
    content_types.JSON: _json_to_numpy,
    content_types.NPZ: _npz_to_sparse,
}


def decode(obj, content_type):
    """Decode obj, encoded as content_type, for prediction."""
    try:
        decoder = _decoder_map[content_type]
    except KeyError:
        raise errors.UnsupportedFormatError(content_type)
    return decoder(obj)
