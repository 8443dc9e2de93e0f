"""Shared pieces of the benchmark scripts that measure recserve through
recserve-server (latest_holdout.py, cold_items_check.py): the generated
Python gRPC stubs, running recserve-train with a timeout, and a
recserve-server on 127.0.0.1 (a free port) that is always stopped.

Not a script: import it from a script in this directory, e.g.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_server
"""
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time


class CheckError(Exception):
    """A step failed; the message says which and why."""


def id_key(item):
    return (0, int(item), "") if item.isdigit() else (1, 0, item)


def ratio(a, b):
    return a / b if b > 0 else float("nan")


# --- Command line ------------------------------------------------------------

def add_build_args(parser, repo):
    """--build (default REPO/build) and --stubs (default
    $RECSERVE_PYTHON_STUBS, else BUILD/python)."""
    parser.add_argument("--build", default=os.path.join(repo, "build"),
                        help="directory of recserve-train and "
                        "recserve-server")
    parser.add_argument("--stubs", default=os.environ.get(
        "RECSERVE_PYTHON_STUBS", ""), help="Python stubs (default: "
        "$RECSERVE_PYTHON_STUBS, else BUILD/python)")


def require_binaries(parser, build):
    """A usage error (exit 2) when recserve-train or recserve-server is not
    an executable in BUILD."""
    for binary in ("recserve-train", "recserve-server"):
        if not os.access(os.path.join(build, binary), os.X_OK):
            parser.error(f"{build}/{binary} is missing: build it first")


# --- The stubs ---------------------------------------------------------------

def default_stubs(args):
    return args.stubs or os.path.join(args.build, "python")


def import_stubs(stubs):
    """(grpc, recommender_pb2) with STUBS first on sys.path."""
    sys.path.insert(0, stubs)
    try:
        import grpc  # Debian: python3-grpcio
        from recserve.v1 import recommender_pb2 as pb2
    except ImportError as e:
        raise CheckError(f"cannot import grpc or the stubs from {stubs} ({e});"
                         " run with /usr/bin/python3 and build the stubs "
                         "(target recserve_python_stubs)")
    return grpc, pb2


# --- Training ----------------------------------------------------------------

def run_trainer(command, log_path, timeout):
    """Runs recserve-train (COMMAND) with its output in LOG_PATH; returns
    its wall time in seconds. CheckError when it takes over TIMEOUT seconds
    or fails (with the log's tail)."""
    started = time.monotonic()
    with open(log_path, "w") as log:
        try:
            done = subprocess.run(command, stdout=log,
                                  stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise CheckError(f"recserve-train took over "
                             f"{timeout} s (log: {log_path})")
    seconds = time.monotonic() - started
    if done.returncode != 0:
        tail = open(log_path, errors="replace").read()[-3000:]
        raise CheckError(f"recserve-train failed ({done.returncode}):\n{tail}")
    return seconds


# --- The server --------------------------------------------------------------

def health(channel, timeout):
    """SERVING or not, through the raw health RPC (Debian packages no
    grpc_health module): HealthCheckRequest{} in, status field 1 out."""
    check = channel.unary_unary("/grpc.health.v1.Health/Check")
    answer = check(b"", timeout=timeout)
    return len(answer) >= 2 and answer[0] == 0x08 and answer[1] == 1


def start_server(grpc, build, snapshots, log, timeout, extra_args=()):
    """Starts BUILD/recserve-server on 127.0.0.1:0, reads its port from LOG
    and waits for SERVING. (server, channel or None, seconds)."""
    command = [os.path.join(build, "recserve-server"),
               "--snapshot_dir", snapshots, "--listen", "127.0.0.1:0",
               "--metrics_listen", "", "--log_level", "info"]
    command += list(extra_args)
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if server.poll() is not None:
            break
        m = re.search(r"listening on \S+ \(port (\d+)\)",
                      open(log.name, errors="replace").read())
        if m:
            channel = grpc.insecure_channel(f"127.0.0.1:{m.group(1)}")
            while time.monotonic() - started < timeout:
                if server.poll() is not None:
                    break
                try:
                    if health(channel, 5):
                        return server, channel, time.monotonic() - started
                except grpc.RpcError:
                    pass
                time.sleep(0.2)
            channel.close()
            break
        time.sleep(0.05)
    return server, None, time.monotonic() - started


def stop(server):
    if server is None or server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=30)


@contextlib.contextmanager
def serving(grpc, build, snapshots, work, timeout, extra_args=()):
    """Yields (server, channel, start seconds) of a SERVING recserve-server
    logging to WORK/server-*.log; CheckError with the log's tail when it
    never becomes SERVING. The server is always stopped."""
    server = None
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", dir=work,
                                      prefix="server-", delete=False)
    try:
        server, channel, seconds = start_server(grpc, build, snapshots, log,
                                                timeout, extra_args)
        if channel is None:
            log.flush()
            raise CheckError("recserve-server never became SERVING:\n"
                             + open(log.name, errors="replace").read()[-3000:])
        yield server, channel, seconds
    finally:
        stop(server)
        log.close()
