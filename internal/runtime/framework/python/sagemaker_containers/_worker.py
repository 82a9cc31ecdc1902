"""The response object handler functions return: a body, a status and a
MIME type, shaped like the Flask response the real container uses."""
import http.client

from sagemaker_containers import _content_types


class Response(object):
    """An HTTP response: body (str, bytes or an iterable of them), status,
    headers and mimetype (application/json by default)."""

    default_mimetype = _content_types.JSON

    def __init__(self, response=None, accept=None, status=http.client.OK, headers=None, mimetype=None,
                 content_type=None, direct_passthrough=False):
        if response is None:
            body = b""
        elif isinstance(response, str):
            body = response.encode("utf-8")
        elif isinstance(response, (bytes, bytearray)):
            body = bytes(response)
        else:
            body = b"".join(p.encode("utf-8") if isinstance(p, str) else bytes(p) for p in response)
        self.response = [body]
        self._body = body
        self.status_code = int(status)
        self.headers = dict(headers or {})
        self.mimetype = mimetype or self.default_mimetype
        self.content_type = content_type or self.headers.pop("Content-Type", None) or self.mimetype

    @property
    def data(self):
        return self._body

    def get_data(self, as_text=False):
        return self._body.decode("utf-8") if as_text else self._body
