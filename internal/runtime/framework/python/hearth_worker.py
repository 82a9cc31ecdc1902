"""One model server, run in a process the fork server forked: it finds the
inference script as the SageMaker Python SDK packs it (code/ in the model
directory, SAGEMAKER_PROGRAM), loads the model with model_fn, and serves
the SageMaker container contract (GET /ping, POST /invocations) with the
handler chain and defaults of the framework's SageMaker container."""
import http.server
import importlib
import inspect
import json
import os
import socketserver
import sys
import traceback

CONTAINER_MODEL_DIR = "/opt/ml/model"


class StartupError(Exception):
    """A problem with the model or its configuration, reported without a
    traceback."""


def locate_code(model_dir):
    """The directory holding the inference script and the script's module
    name (None when there is no script)."""
    submit = os.environ.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    program = os.environ.get("SAGEMAKER_PROGRAM", "")
    if "://" in submit:
        raise StartupError(
            "SAGEMAKER_SUBMIT_DIRECTORY=%s: code given as a tarball URL is not supported; "
            "pack the inference code in the model artifact's code/ directory and set "
            "SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code (as the SageMaker Python SDK does when it repacks a model)"
            % submit)
    if submit == "":
        code_dir = os.path.join(model_dir, "code")
    elif submit == CONTAINER_MODEL_DIR or submit.startswith(CONTAINER_MODEL_DIR + "/"):
        code_dir = model_dir + submit[len(CONTAINER_MODEL_DIR):]
    else:
        raise StartupError(
            "SAGEMAKER_SUBMIT_DIRECTORY=%s: the inference code must be inside the model artifact, "
            "under /opt/ml/model (usually /opt/ml/model/code)" % submit)
    explicit = program != ""
    if not explicit:
        program = "inference.py"
    name = program[:-3] if program.endswith(".py") else program
    if "/" in name or name == "":
        raise StartupError("SAGEMAKER_PROGRAM=%s: give the entry point's file name, e.g. inference.py" % program)
    path = os.path.join(code_dir, program if program.endswith(".py") else program + ".py")
    if not os.path.isfile(path):
        if explicit:
            raise StartupError("SAGEMAKER_PROGRAM=%s: no such file in the model artifact (looked for %s)"
                               % (program, os.path.relpath(path, model_dir)))
        return code_dir, None
    req = os.path.join(code_dir, "requirements.txt")
    if os.path.isfile(req):
        with open(req) as f:
            wanted = [ln.strip() for ln in f if ln.strip() and not ln.strip().startswith("#")]
        print("code/requirements.txt lists %s: not installed (no package index is reachable); "
              "the model runs with this Python's packages" % ", ".join(wanted) if wanted else
              "code/requirements.txt is empty", file=sys.stderr, flush=True)
    return code_dir, name


class Reply(object):
    def __init__(self, status, content_type, body, phrase=None):
        self.status = status
        self.content_type = content_type
        self.body = body if isinstance(body, bytes) else str(body).encode("utf-8")
        self.phrase = phrase


def _log_error(prefix):
    sys.stderr.write(prefix + "\n" + traceback.format_exc())
    sys.stderr.flush()


class SklearnChain(object):
    """The SageMaker scikit-learn container's handler chain: model_fn is
    required; input_fn decodes JSON, CSV and NPY (float32 for the text
    types); predict_fn calls model.predict; output_fn encodes per Accept.
    Unsupported request types answer 415, unsupported Accept types 406, any
    other error from the script 500."""

    def __init__(self, module, model_dir):
        from sagemaker_containers import _encoders, _errors, _worker, _content_types
        self._enc, self._errors, self._worker, self._ct = _encoders, _errors, _worker, _content_types
        get = (lambda n: getattr(module, n, None)) if module is not None else (lambda n: None)
        model_fn = get("model_fn")
        self.transform_fn = get("transform_fn")
        if self.transform_fn and (get("input_fn") or get("predict_fn") or get("output_fn")):
            raise StartupError("Cannot use transform_fn implementation with input_fn, predict_fn, and/or output_fn")
        self.input_fn = get("input_fn") or self.default_input_fn
        self.predict_fn = get("predict_fn") or self.default_predict_fn
        self.output_fn = get("output_fn") or self.default_output_fn
        if model_fn is None:
            raise StartupError(
                "The scikit-learn container needs a model_fn in the inference script: "
                "Please provide a model_fn implementation. "
                "See documentation for model_fn at https://sagemaker.readthedocs.io/en/stable/frameworks/sklearn/using_sklearn.html"
                + ("" if module is not None else " (no inference script found: set SAGEMAKER_PROGRAM and pack it in code/)"))
        self.model = model_fn(model_dir)
        self.default_accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/json")

    def default_input_fn(self, input_data, content_type):
        arr = self._enc.decode(input_data, content_type)
        import numpy as np
        return arr.astype(np.float32) if content_type in self._ct.UTF8_TYPES else arr

    def default_predict_fn(self, data, model):
        return model.predict(data)

    def default_output_fn(self, prediction, accept):
        return self._worker.Response(self._enc.encode(prediction, accept), mimetype=accept)

    def _unsupported(self, e, status):
        body = json.dumps({"error": e.__class__.__name__, "error-message": str(e),
                           "stack-trace": traceback.format_exc()})
        return self._worker.Response(body, status=status, mimetype="application/json")

    def invoke(self, body, content_type, accept):
        from sagemaker_inference import errors as ierrors
        unsupported = (self._errors.UnsupportedFormatError, ierrors.UnsupportedFormatError)
        content_type = content_type or "application/json"
        if not accept or accept == "*/*":
            accept = self.default_accept
        content = body.decode("utf-8") if content_type in self._ct.UTF8_TYPES else body
        try:
            if self.transform_fn is not None:
                result = self.transform_fn(self.model, content, content_type, accept)
            else:
                try:
                    data = self.input_fn(content, content_type)
                except unsupported as e:
                    _log_error("input_fn: unsupported content type %s" % content_type)
                    result = self._unsupported(e, 415)
                else:
                    prediction = self.predict_fn(data, self.model)
                    try:
                        result = self.output_fn(prediction, accept)
                    except unsupported as e:
                        _log_error("output_fn: unsupported accept type %s" % accept)
                        result = self._unsupported(e, 406)
        except Exception as e:
            _log_error("Exception on /invocations [POST]")
            return Reply(500, "text/plain; charset=utf-8",
                         "Internal Server Error: %s: %s" % (e.__class__.__name__, e))
        if isinstance(result, tuple):
            result = self._worker.Response(response=result[0], mimetype=result[1])
        if isinstance(result, self._worker.Response):
            return Reply(result.status_code, result.content_type, result.get_data())
        if isinstance(result, (dict, list)):
            return Reply(200, "application/json", json.dumps(result))
        if isinstance(result, (str, bytes, bytearray)):
            return Reply(200, "text/html; charset=utf-8", bytes(result) if not isinstance(result, str) else result)
        _log_error("Exception on /invocations [POST]")
        return Reply(500, "text/plain; charset=utf-8",
                     "Internal Server Error: the handler returned a %s, not a response" % type(result).__name__)


class Context(object):
    """The request context handler functions may take as a last argument."""

    def __init__(self, model_dir, headers=None):
        self.system_properties = {"model_dir": model_dir, "gpu_id": None}
        self._headers = dict(headers or {})
        self.request_processor = [self]

    def get_request_properties(self):
        return self._headers

    def get_request_header(self, idx, key):
        return self._headers.get(key)


def _call(fn, ctx, *args):
    """Call a handler with args, plus the context when it takes one more."""
    try:
        n = len(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        n = len(args)
    if n == len(args) + 1:
        return fn(*args, ctx)
    if n != len(args):
        raise TypeError("{} takes {} arguments but {} were given.".format(fn.__name__, n, len(args)))
    return fn(*args)


class PytorchChain(object):
    """The SageMaker PyTorch inference toolkit's handler chain: model_fn
    defaults to loading a TorchScript model.pt (or the one .pt/.pth file);
    input_fn decodes JSON, CSV, NPY and NPZ to a tensor; predict_fn runs the
    model under torch.no_grad(); output_fn encodes per Accept. Errors answer
    the BaseInferenceToolkitError's status, or 500, with the message and
    traceback as the body."""

    def __init__(self, module, model_dir):
        import torch
        from sagemaker_inference import errors
        self._torch, self._errors = torch, errors
        self.model_dir = model_dir
        get = (lambda n: getattr(module, n, None)) if module is not None else (lambda n: None)
        transform_fn = get("transform_fn")
        if transform_fn and (get("input_fn") or get("predict_fn") or get("output_fn")):
            raise StartupError("Cannot use transform_fn implementation in conjunction with "
                               "input_fn, predict_fn, and/or output_fn implementation")
        self.transform_fn = transform_fn or self.default_transform_fn
        self.input_fn = get("input_fn") or self.default_input_fn
        self.predict_fn = get("predict_fn") or self.default_predict_fn
        self.output_fn = get("output_fn") or self.default_output_fn
        self.default_accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/json")
        ctx = Context(model_dir)
        pre = get("pre_model_fn")
        if pre is not None:
            _call(pre, ctx, model_dir)
        self.model = _call(get("model_fn") or self.default_model_fn, ctx, model_dir)
        warm = get("model_warmup_fn")
        if warm is not None:
            _call(warm, ctx, model_dir, self.model)

    def default_model_fn(self, model_dir):
        torch = self._torch
        path = os.path.join(model_dir, "model.pt")
        if not os.path.exists(path):
            files = [f for f in os.listdir(model_dir)
                     if os.path.isfile(os.path.join(model_dir, f)) and os.path.splitext(f)[1] in (".pt", ".pth")]
            if len(files) != 1:
                raise StartupError("Exactly one .pth or .pt file is required for PyTorch models: {}".format(files))
            path = os.path.join(model_dir, files[0])
        try:
            return torch.jit.load(path, map_location=torch.device("cpu"))
        except RuntimeError as e:
            raise StartupError("Failed to load {}. Please ensure model is saved using torchscript. ({})"
                               .format(os.path.basename(path), str(e).splitlines()[0] if str(e) else e))

    def default_input_fn(self, input_data, content_type):
        from sagemaker_inference import content_types, decoder
        torch = self._torch
        arr = decoder.decode(input_data, content_type)
        if content_type in content_types.UTF8_TYPES:
            return torch.FloatTensor(arr)
        if content_type == content_types.NPZ:
            return torch.FloatTensor(arr.toarray())
        return torch.from_numpy(arr)

    def default_predict_fn(self, data, model):
        with self._torch.no_grad():
            model.eval()
            return model(data)

    def default_output_fn(self, prediction, accept):
        from sagemaker_inference import content_types, encoder, utils
        if isinstance(prediction, self._torch.Tensor):
            prediction = prediction.detach().cpu().numpy().tolist()
        for ct in utils.parse_accept(accept):
            if ct in encoder.SUPPORTED_CONTENT_TYPES:
                out = encoder.encode(prediction, ct)
                if ct == content_types.CSV:
                    out = out.encode("utf-8")
                return out
        raise self._errors.UnsupportedFormatError(accept)

    def default_transform_fn(self, model, input_data, content_type, accept, context=None):
        data = _call(self.input_fn, context, input_data, content_type)
        prediction = _call(self.predict_fn, context, data, model)
        return _call(self.output_fn, context, prediction, accept)

    def invoke(self, body, content_type, accept, headers=None):
        errors = self._errors
        try:
            if not accept or accept == "*/*":
                accept = self.default_accept
            if content_type in ("application/json", "text/csv"):
                body = body.decode("utf-8")
            ctx = Context(self.model_dir, headers)
            result = _call(self.transform_fn, ctx, self.model, body, content_type, accept)
            response_type = accept
            if isinstance(result, tuple):
                result, response_type = result[0], result[1]
            if not isinstance(result, (bytes, bytearray, str)):
                result = json.dumps(result)
            return Reply(200, response_type, bytes(result) if not isinstance(result, str) else result)
        except Exception as e:
            trace = traceback.format_exc()
            sys.stderr.write(trace)
            sys.stderr.flush()
            if not isinstance(e, errors.BaseInferenceToolkitError):
                e = errors.GenericInferenceToolkitError(500, str(e))
            from sagemaker_inference import utils
            return Reply(e.status_code, "text/plain; charset=utf-8", "{}\n{}".format(e.message, trace),
                         phrase=utils.remove_crlf(str(e.phrase)))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hearth-framework"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def _send(self, reply):
        self.send_response(reply.status, reply.phrase)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def do_GET(self):
        if self.path.split("?")[0] == "/ping":
            self._send(Reply(200, "application/json", b""))
        else:
            self._send(Reply(404, "text/plain", b"not found"))

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        if self.path.split("?")[0] != "/invocations":
            self._send(Reply(404, "text/plain", b"not found"))
            return
        ct = self.headers.get("Content-Type")
        if isinstance(self.server.chain, PytorchChain):
            reply = self.server.chain.invoke(body, ct, self.headers.get("Accept"), dict(self.headers.items()))
        else:
            reply = self.server.chain.invoke(body, self.headers.get("ContentType") or ct, self.headers.get("Accept"))
        self._send(reply)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        # HTTPServer.server_bind looks the address up in DNS (getfqdn) for
        # a name nothing here uses; that costs tens of milliseconds.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def warm_up():
    """Do, before the model is known, what serving it will do first."""
    srv = Server(("127.0.0.1", 0), Handler)
    srv.server_close()
    importlib.invalidate_caches()


def main(framework, listening=None):
    """Load the model and serve until killed, calling listening once the
    server listens. Exits 2 on a configuration or model problem, 1 on an
    error in the inference script."""
    try:
        model_dir = os.environ["SM_MODEL_DIR"]
        port = int(os.environ["SAGEMAKER_BIND_TO_PORT"])
        code_dir, module_name = locate_code(model_dir)
        module = None
        if module_name is not None:
            sys.path.insert(0, code_dir)
            module = importlib.import_module(module_name)
        chain = (SklearnChain if framework == "sklearn" else PytorchChain)(module, model_dir)
        srv = Server(("127.0.0.1", port), Handler)
        srv.chain = chain
    except StartupError as e:
        sys.stderr.write("model failed to load: %s\n" % e)
        sys.stderr.flush()
        return 2
    except BaseException:
        _log_error("model failed to load:")
        return 1
    if listening is not None:
        listening()
    srv.serve_forever()
    return 0
