"""Hearth's fork server for one Python framework: it imports numpy and the
framework once, then forks a model server per request from Hearth.

Hearth talks to it over a SOCK_SEQPACKET socket on fd 3, one JSON message
per packet. Hearth sends
  {"op": "spawn", "id": N, "framework": ..., "env": [...], "dir": ...}
with the worker's output pipe (and, when the worker is to be placed in a
cgroup first, a gate pipe's read end) attached as SCM_RIGHTS, and
  {"op": "signal", "id": N, "signal": S}
to signal a worker's process group. The server answers
  {"op": "ready"} once, when the framework is imported,
  {"op": "started", "id": N, "pid": P} or {"op": "failed", "id": N, "error": ...},
  {"op": "exit", "id": N, "code": C, "signal": S} when a worker ends.
When Hearth closes the socket the server kills its workers and exits;
workers die with the server (PR_SET_PDEATHSIG)."""
import ctypes
import gc
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
    if framework == "sklearn":
        import scipy.sparse  # noqa: F401
        import joblib  # noqa: F401
        import sklearn  # noqa: F401
        import sklearn.base  # noqa: F401
        import sklearn.ensemble  # noqa: F401
        import sklearn.linear_model  # noqa: F401
        import sklearn.pipeline  # noqa: F401
        import sklearn.preprocessing  # noqa: F401
        import sklearn.tree  # noqa: F401
        import sagemaker_containers.beta.framework  # noqa: F401
    elif framework == "pytorch":
        import torch  # noqa: F401
        import torch.nn  # noqa: F401
        import torch.jit  # noqa: F401
    else:
        raise SystemExit("unknown framework %r" % framework)


def child(msg, out_fd, gate_fd, server_pid, libc):
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
        if gate_fd is not None:
            # Wait until Hearth has placed this process in its cgroup.
            while os.read(gate_fd, 64):
                pass
            os.close(gate_fd)
        os.environ.clear()
        for kv in msg.get("env", []):
            k, _, v = kv.partition("=")
            os.environ[k] = v
        if msg.get("dir"):
            os.chdir(msg["dir"])
        gc.unfreeze()
        import hearth_worker
        code = hearth_worker.main(msg["framework"])
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
                    out_fd = fds[0] if fds else None
                    gate_fd = fds[1] if len(fds) > 1 else None
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
                        child(req, out_fd, gate_fd, server_pid, libc)
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
