"""Encoders and decoders between array-likes and JSON, CSV and NPY, as the
SageMaker scikit-learn container has them."""
import csv
import io
import json

import numpy as np

from sagemaker_containers import _content_types, _errors


def array_to_npy(array_like):
    buf = io.BytesIO()
    np.save(buf, array_like)
    return buf.getvalue()


def npy_to_numpy(npy_array):
    return np.load(io.BytesIO(npy_array), allow_pickle=True)


def array_to_json(array_like):
    def default(o):
        if hasattr(o, "tolist"):
            return o.tolist()
        return json.JSONEncoder().default(o)

    return json.dumps(array_like, default=default)


def json_to_numpy(string_like, dtype=None):
    return np.array(json.loads(string_like), dtype=dtype)


def csv_to_numpy(string_like, dtype=None):
    """Rows of comma-separated values to an array (of strings unless dtype
    is given), with single dimensions squeezed out."""
    if isinstance(string_like, bytes):
        string_like = string_like.decode("utf-8")
    array = None
    try:
        reader = csv.reader(io.StringIO(string_like), delimiter=",", quotechar='"', doublequote=True, strict=True)
        array = np.array([row for row in reader]).squeeze()
        array = array.astype(dtype)
    except ValueError as e:
        if dtype is not None:
            raise _errors.ClientError("Error while writing numpy array: {}. dtype is: {}".format(e, dtype))
    except Exception as e:
        raise _errors.ClientError("Error while decoding csv: {}".format(e))
    return array


def array_to_csv(array_like):
    array = np.array(array_like)
    if len(array.shape) == 1:
        array = np.reshape(array, (array.shape[0], 1))
    try:
        stream = io.StringIO()
        writer = csv.writer(stream, lineterminator="\n", delimiter=",", quotechar='"', doublequote=True, strict=True)
        writer.writerows(array)
        return stream.getvalue()
    except csv.Error as e:
        raise _errors.ClientError("Error while encoding csv: {}".format(e))


_encoders_map = {
    _content_types.NPY: array_to_npy,
    _content_types.CSV: array_to_csv,
    _content_types.JSON: array_to_json,
}
_decoders_map = {
    _content_types.NPY: npy_to_numpy,
    _content_types.CSV: csv_to_numpy,
    _content_types.JSON: json_to_numpy,
}


def decode(obj, content_type):
    """Decode obj, encoded as content_type, to a numpy array."""
    try:
        decoder = _decoders_map[content_type]
    except KeyError:
        raise _errors.UnsupportedFormatError(content_type)
    return decoder(obj)


def encode(array_like, content_type):
    """Encode array_like as content_type."""
    try:
        encoder = _encoders_map[content_type]
    except KeyError:
        raise _errors.UnsupportedFormatError(content_type)
    return encoder(array_like)
