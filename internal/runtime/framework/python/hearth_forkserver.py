"""Hearth's fork server for one Python framework: it imports numpy and the
framework once, then forks a model server per request from Hearth.

Hearth talks to it over a SOCK_SEQPACKET socket on fd 3, one JSON message
per packet. Hearth sends
  {"op": "spawn", "id": N, "spare": B}
with the worker's output pipe, an assignment pipe's read end and a ready
pipe's write end attached as SCM_RIGHTS, and
  {"op": "signal", "id": N, "signal": S}
to signal a worker's process group. The server answers
  {"op": "ready"} once, when the framework is imported,
  {"op": "started", "id": N, "pid": P} or {"op": "failed", "id": N, "error": ...},
  {"op": "exit", "id": N, "code": C, "signal": S} when a worker ends.
A forked worker does everything that does not depend on its model, then
waits for its assignment: one JSON object, {"env": [...], "dir": ...},
written to the assignment pipe, which Hearth then closes (closing it with
nothing written tells the worker to exit). Hearth forks a worker ahead of
need (a spare) and assigns it at a cold start, after it has placed the
process in its cgroup, so neither the fork nor the cgroup's creation is on
the cold path. A spare first warms up (see child) and then writes "w" to its
ready pipe; every worker closes the ready pipe once it listens.
When Hearth closes the socket the server kills its workers and exits;
workers die with the server (PR_SET_PDEATHSIG)."""
import ctypes
import gc
import io
import json
import os
import selectors
import signal
import socket
import sys
import traceback

PR_SET_PDEATHSIG = 1


def preload(framework):
    """Import what every model of the framework needs, before any fork."""
    import numpy  # noqa: F401
    import http.server  # noqa: F401
    import csv  # noqa: F401
    import inspect  # noqa: F401
    import hearth_worker  # noqa: F401
    import sagemaker_inference.decoder  # noqa: F401
    import sagemaker_inference.encoder  # noqa: F401
    import sagemaker_inference.default_inference_handler  # noqa: F401
    import pickle  # noqa: F401
    import socketserver  # noqa: F401
    import threading  # noqa: F401
    if framework == "sklearn":
        import scipy.sparse  # noqa: F401
        import joblib  # noqa: F401
        import joblib.numpy_pickle  # noqa: F401
        import sklearn  # noqa: F401
        import sklearn.base  # noqa: F401
        import sklearn.ensemble  # noqa: F401
        import sklearn.linear_model  # noqa: F401
        import sklearn.pipeline  # noqa: F401
        import sklearn.preprocessing  # noqa: F401
        import sklearn.svm  # noqa: F401
        import sklearn.tree  # noqa: F401
        import sagemaker_containers.beta.framework  # noqa: F401
    elif framework == "pytorch":
        import torch  # noqa: F401
        import torch.nn  # noqa: F401
        import torch.jit  # noqa: F401
    else:
        raise SystemExit("unknown framework %r" % framework)
    warm_up(framework)


def warm_up(framework):
    """Save and load a small model the way models are loaded, so that what
    the first load in a process does once (lazy imports, caches) is done
    before the fork, in pages every worker shares."""
    import numpy as np
    if framework == "sklearn":
        import joblib
        from sklearn.ensemble import RandomForestRegressor
        from sklearn.linear_model import LinearRegression
        X = np.arange(16, dtype=np.float64).reshape(8, 2)
        y = X.sum(axis=1)
        for m in (RandomForestRegressor(n_estimators=2, max_depth=2, random_state=0), LinearRegression()):
            buf = io.BytesIO()
            joblib.dump(m.fit(X, y), buf)
            buf.seek(0)
            joblib.load(buf).predict(X[:1].astype(np.float32))
    elif framework == "pytorch":
        import torch
        buf = io.BytesIO()
        torch.jit.save(torch.jit.trace(torch.nn.Linear(2, 1), torch.zeros(1, 2)), buf)
        buf.seek(0)
        m = torch.jit.load(buf, map_location=torch.device("cpu"))
        with torch.no_grad():
            m.eval()
            m(torch.zeros(1, 2))


def child(framework, spare, out_fd, assign_fd, ready_fd, server_pid, libc):
    """Become the worker: never returns."""
    code = 1
    try:
        os.setsid()
        if libc is not None:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != server_pid:
            os._exit(1)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(out_fd)
        for fd in (assign_fd, ready_fd):
            os.set_inheritable(fd, False)
        # The objects inherited from the fork server stay frozen: the
        # collector never writes to them, so their pages stay shared.
        gc.enable()
        # Until assigned, load and serve as a model will, so that the pages
        # a worker's start writes to (reference counts of the framework's
        # classes, the allocator's, the import system's) are copied now
        # rather than faulted in one by one on the cold path.
        if spare:
            try:
                warm_up(framework)
                import hearth_worker
                hearth_worker.warm_up()
            except Exception:
                traceback.print_exc()
            os.write(ready_fd, b"w")
        # Wait for the assignment, which comes once Hearth has placed this
        # process in its cgroup.
        chunks = []
        while True:
            b = os.read(assign_fd, 1 << 16)
            if not b:
                break
            chunks.append(b)
        os.close(assign_fd)
        if not chunks:
            code = 0
            return
        msg = json.loads(b"".join(chunks))
        os.environ.clear()
        for kv in msg.get("env", []):
            k, _, v = kv.partition("=")
            os.environ[k] = v
        if msg.get("dir"):
            os.chdir(msg["dir"])
        import hearth_worker
        code = hearth_worker.main(framework, listening=lambda: os.close(ready_fd))
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def send(sock, obj):
    sock.send(json.dumps(obj).encode("utf-8"))


def main():
    framework = sys.argv[1]
    sock = socket.socket(fileno=3)
    # No collections while importing: they would leave freed holes in the
    # pages workers share. Workers enable the collector again.
    gc.disable()
    preload(framework)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        libc = None
    server_pid = os.getpid()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    workers = {}  # pid -> id
    # Objects imported so far stay untouched by the collector, so forked
    # workers share their pages instead of copying them.
    gc.collect()
    gc.freeze()
    send(sock, {"op": "ready", "pid": server_pid, "python": sys.version.split()[0]})

    def reap():
        while workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            wid = workers.pop(pid, None)
            if wid is None:
                continue
            if os.WIFSIGNALED(status):
                send(sock, {"op": "exit", "id": wid, "code": -1, "signal": os.WTERMSIG(status)})
            else:
                send(sock, {"op": "exit", "id": wid, "code": os.WEXITSTATUS(status)})

    try:
        while True:
            for key, _ in sel.select():
                if key.fileobj is wake_r:
                    try:
                        while os.read(wake_r, 512):
                            pass
                    except BlockingIOError:
                        pass
                    continue
                msg, fds, _, _ = socket.recv_fds(sock, 1 << 20, 4)
                if not msg:
                    return
                req = json.loads(msg)
                op = req.get("op")
                if op == "spawn":
                    if len(fds) != 3:
                        for fd in fds:
                            os.close(fd)
                        send(sock, {"op": "failed", "id": req["id"], "error": "spawn needs an output, an assignment and a ready pipe"})
                        continue
                    out_fd, assign_fd, ready_fd = fds
                    gc.freeze()
                    try:
                        pid = os.fork()
                    except OSError as e:
                        for fd in fds:
                            os.close(fd)
                        send(sock, {"op": "failed", "id": req["id"], "error": "fork: %s" % e})
                        continue
                    if pid == 0:
                        sel.close()
                        sock.close()
                        os.close(wake_r)
                        os.close(wake_w)
                        signal.set_wakeup_fd(-1)
                        child(framework, bool(req.get("spare")), out_fd, assign_fd, ready_fd, server_pid, libc)
                    for fd in fds:
                        os.close(fd)
                    workers[pid] = req["id"]
                    send(sock, {"op": "started", "id": req["id"], "pid": pid})
                elif op == "signal":
                    for pid, wid in workers.items():
                        if wid == req["id"]:
                            try:
                                os.killpg(pid, req["signal"])
                            except ProcessLookupError:
                                # Not yet its own process group leader.
                                try:
                                    os.kill(pid, req["signal"])
                                except ProcessLookupError:
                                    pass
                            break
            reap()
    finally:
        for pid in list(workers):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
