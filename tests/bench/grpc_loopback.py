"""Throughput and latency of recserve-server through gRPC on loopback,
measured with recserve-bench against one server process, in one run:

1. For the health check (the gRPC framework's own ceiling on this machine)
   and each RPC: the highest sustainable throughput, then p50/p99 in an open
   loop at 50% and 80% of it. Sustainable: an open loop at that rate is
   served at >= 97% of it with p99 under 50 ms (no queue building up); the
   search starts at 90% of the closed-loop maximum (64 calls in flight),
   steps down by 10%, then halves the gap to the failing rate twice. Ids are drawn uniformly from the snapshot.
2. A hot reload under load: Recommend in a closed loop while a new snapshot
   version is published (a copy of the latest, its saved indexes renamed to
   the copy's checksum, as `recserve-train --build_index` would leave them);
   the throughput around the swap against the rest of the run, and failures.

usage: grpc_loopback.py BUILD_DIR SNAPSHOT_ROOT OUT.json [--seconds S]
The snapshot root is modified by the reload step (a version is added).
Only ever targets 127.0.0.1; every run is bounded in time.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

METHODS = ["health", "predict", "recommend", "similar"]


def start_server(build, root, log):
    server = subprocess.Popen(
        [f"{build}/recserve-server", "--snapshot_dir", root,
         "--listen", "127.0.0.1:0", "--metrics_listen", "",
         "--poll_interval", "200ms", "--log_level", "info"],
        stdout=log, stderr=log)
    deadline = time.time() + 120
    port = None
    while time.time() < deadline and port is None:
        text = open(log.name).read()
        m = re.search(r"listening on \S+ \(port (\d+)\)", text)
        if m:
            port = int(m.group(1))
        time.sleep(0.1)
    if port is None:
        server.kill()
        sys.exit("recserve-server did not start: " + open(log.name).read())
    while time.time() < deadline:
        health = subprocess.run(
            [f"{build}/recserve-cli", "--server", f"127.0.0.1:{port}", "health"],
            capture_output=True, text=True)
        if "SERVING" in health.stdout and "NOT" not in health.stdout:
            return server, port
        time.sleep(0.2)
    server.kill()
    sys.exit("recserve-server never became SERVING")


def bench(build, port, root, method, seconds, rps=0, concurrency=64):
    args = [f"{build}/recserve-bench", "--server", f"127.0.0.1:{port}",
            "--snapshot_dir", root, "--mix", f"{method}=1",
            "--connections", "2", "--duration", f"{seconds}s", "--json"]
    args += ["--rps", str(rps)] if rps > 0 else ["--concurrency", str(concurrency)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        sys.exit(f"recserve-bench failed: {out.stderr}")
    return json.loads(out.stdout)


def summary(report):
    lat = {d["percentage"]: d["latency"] / 1e6 for d in report["latencyDistribution"]}
    failed = sum(v for k, v in report["statusCodeDistribution"].items() if k != "OK")
    return {"rps": report["rps"], "count": report["count"], "failed": failed,
            "p50_ms": lat.get(50), "p99_ms": lat.get(99)}


def sustainable(build, port, root, method, closed_rps, seconds):
    """The highest open-loop rate served in full (see the top)."""
    probes = []

    def served(rate):
        got = summary(bench(build, port, root, method, max(2, seconds // 2), rps=rate))
        probes.append({"target": rate, **got})
        return got["rps"] >= 0.97 * rate and got["p99_ms"] < 50 and got["failed"] == 0

    # Down in 10% steps from 90% of the closed loop to the first rate served,
    # then two halvings of the gap to the rate above it, so that the result
    # is not quantized to the 10% grid.
    failed, rate = None, 0.9 * closed_rps
    for _ in range(6):
        if served(rate):
            break
        failed, rate = rate, rate * 0.9
    else:
        return 0.0, probes
    if failed is not None:
        for _ in range(2):
            middle = (rate + failed) / 2
            if served(middle):
                rate = middle
            else:
                failed = middle
    return rate, probes


def publish_copy(root):
    """Publishes the latest version again under the next version name."""
    latest = open(f"{root}/LATEST").read().strip()
    new = "v%06d" % (int(latest[1:]) + 1)
    tmp = tempfile.mkdtemp(prefix=".publish-", dir=root)
    shutil.rmtree(tmp)
    shutil.copytree(f"{root}/{latest}", tmp)
    old_bytes = open(f"{tmp}/manifest.json", "rb").read()
    manifest = json.loads(old_bytes)
    manifest["version"] = new
    new_bytes = json.dumps(manifest, indent=2).encode()
    open(f"{tmp}/manifest.json", "wb").write(new_bytes)
    old_crc = "%08x" % zlib.crc32(old_bytes)
    new_crc = "%08x" % zlib.crc32(new_bytes)
    for name in os.listdir(tmp):
        if name.startswith(f"index-{old_crc}-"):
            os.rename(f"{tmp}/{name}", f"{tmp}/{name.replace(old_crc, new_crc, 1)}")
    os.rename(tmp, f"{root}/{new}")
    with open(f"{root}/.LATEST.tmp", "w") as f:
        f.write(new + "\n")
    os.replace(f"{root}/.LATEST.tmp", f"{root}/LATEST")
    return new


def reload_under_load(build, port, root, log_path, seconds):
    """Recommend at full speed; a new version published a third of the way."""
    args = [f"{build}/recserve-bench", "--server", f"127.0.0.1:{port}",
            "--snapshot_dir", root, "--mix", "recommend=1",
            "--connections", "2", "--concurrency", "64",
            "--duration", f"{seconds}s", "--json"]
    started = time.time()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    time.sleep(seconds / 3)
    published_at = time.time() - started
    version = publish_copy(root)
    out, _ = proc.communicate(timeout=seconds + 60)
    report = json.loads(out)
    loaded = f"serving snapshot {version}" in open(log_path).read()
    tick = report["timeline"]["tickMs"] / 1000.0
    ok = report["timeline"]["ok"]
    failed = sum(report["timeline"]["failed"])
    per_tick = [n / tick for n in ok]
    # Throughput over 1 s windows; the swap window is the 2 s after publish
    # (the server polls every 200 ms).
    width = int(round(1.0 / tick))
    windows = [sum(per_tick[i:i + width]) / width
               for i in range(0, max(0, len(per_tick) - width + 1))]
    first = int(published_at / tick)
    around = windows[max(0, first - width):first + 2 * width]
    steady = [w for i, w in enumerate(windows)
              if (i < first - width or i > first + 2 * width) and i >= width]
    baseline = statistics.median(steady) if steady else 0
    lowest = min(around) if around else 0
    return {"version": version, "loaded": loaded, "failed": failed,
            "published_at_s": published_at, "steady_rps": baseline,
            "lowest_1s_rps_around_swap": lowest,
            "drop": 1 - lowest / baseline if baseline else None,
            "rps": report["rps"]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("build")
    p.add_argument("root")
    p.add_argument("out")
    p.add_argument("--seconds", type=int, default=5)
    a = p.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as log:
        server, port = start_server(a.build, a.root, log)
        try:
            result = {"methods": {}}
            for method in METHODS:
                closed = bench(a.build, port, a.root, method, a.seconds)
                top, probes = sustainable(a.build, port, a.root, method,
                                          closed["rps"], a.seconds)
                entry = {"closed_loop": summary(closed), "probes": probes,
                         "max": {"rps": top}}
                for share in (0.5, 0.8):
                    entry[f"at_{int(share * 100)}pct"] = summary(
                        bench(a.build, port, a.root, method, a.seconds, rps=top * share))
                result["methods"][method] = entry
                print(f"{method}: max {top:.0f}/s; "
                      f"50%: p50 {entry['at_50pct']['p50_ms']:.2f} ms, "
                      f"p99 {entry['at_50pct']['p99_ms']:.2f} ms; "
                      f"80%: p99 {entry['at_80pct']['p99_ms']:.2f} ms", flush=True)
            ceiling = result["methods"]["health"]["max"]["rps"]
            for method, entry in result["methods"].items():
                entry["ratio_to_health"] = entry["max"]["rps"] / ceiling
            result["reload"] = reload_under_load(a.build, port, a.root, log.name,
                                                 max(9, 3 * a.seconds))
            print("reload:", json.dumps(result["reload"]), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    json.dump(result, open(a.out, "w"), indent=2)


if __name__ == "__main__":
    main()
