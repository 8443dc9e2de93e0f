"""How long recserve-server takes from exec to answering SERVING on a large
snapshot whose indexes were saved beside it (the path a restart or a new
pod takes), as a whole process: median of --runs starts, with the resident
memory once serving.

usage: server_start.py BUILD_DIR SNAPSHOT_ROOT OUT.json [--runs N]
Only ever listens on 127.0.0.1; each start is bounded in time.
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time


def resident_mb(pid):
    status = open(f"/proc/{pid}/status").read()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def one_start(build, root, timeout_s=120):
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        started = time.monotonic()
        server = subprocess.Popen(
            [f"{build}/recserve-server", "--snapshot_dir", root,
             "--listen", "127.0.0.1:0", "--metrics_listen", "",
             "--log_level", "info"],
            stdout=log, stderr=log)
        try:
            port = None
            while time.monotonic() - started < timeout_s:
                if server.poll() is not None:
                    sys.exit("recserve-server exited: " + open(log.name).read())
                text = open(log.name).read()
                m = re.search(r"listening on \S+ \(port (\d+)\)", text)
                if m:
                    port = int(m.group(1))
                    break
                time.sleep(0.01)
            listening = time.monotonic() - started
            while port is not None and time.monotonic() - started < timeout_s:
                health = subprocess.run(
                    [f"{build}/recserve-cli", "--server", f"127.0.0.1:{port}",
                     "health"], capture_output=True, text=True)
                if health.returncode == 0:  # SERVING
                    serving = time.monotonic() - started
                    loaded = re.search(r"serving snapshot (\S+) \((\d+) users, (\d+) items",
                                       open(log.name).read())
                    return {"listening_s": listening, "serving_s": serving,
                            "resident_mb": resident_mb(server.pid),
                            "version": loaded.group(1) if loaded else None,
                            "items": int(loaded.group(3)) if loaded else None,
                            "log": open(log.name).read()[-2000:]}
                time.sleep(0.02)
            sys.exit("recserve-server never became SERVING: " + open(log.name).read())
        finally:
            server.terminate()
            server.wait(timeout=30)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("build")
    p.add_argument("root")
    p.add_argument("out")
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    runs = [one_start(a.build, a.root) for _ in range(a.runs)]
    result = {"runs": runs,
              "serving_s_median": statistics.median(r["serving_s"] for r in runs),
              "listening_s_median": statistics.median(r["listening_s"] for r in runs),
              "resident_mb_median": statistics.median(r["resident_mb"] for r in runs),
              "items": runs[0]["items"]}
    json.dump(result, open(a.out, "w"), indent=2)
    print(f"start to SERVING: median {result['serving_s_median']:.2f} s over "
          f"{a.runs} starts ({result['items']} items), resident "
          f"{result['resident_mb_median']:.0f} MB")


if __name__ == "__main__":
    main()
