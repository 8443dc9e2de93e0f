"""A bounded soak: recserve-server on 127.0.0.1 under a steady open-loop
mix of every RPC (recserve-bench) for --minutes, with the server's resident
memory sampled every --sample seconds; the report gives the growth from the
first minute to the end, the calls made and the errors.

usage: soak.py BUILD_DIR SNAPSHOT_ROOT OUT.json [--minutes 10] [--rps 1000]
Only ever listens on and sends to 127.0.0.1; stops by itself.
"""
import argparse
import json
import re
import subprocess
import sys
import tempfile
import time


def resident_mb(pid):
    status = open(f"/proc/{pid}/status").read()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def wait_port(server, log_path, timeout_s=300):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if server.poll() is not None:
            sys.exit("recserve-server exited: " + open(log_path).read())
        m = re.search(r"serving snapshot", open(log_path).read())
        p = re.search(r"listening on \S+ \(port (\d+)\)", open(log_path).read())
        if m and p:
            return int(p.group(1))
        time.sleep(0.2)
    sys.exit("recserve-server not serving within %d s" % timeout_s)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("build")
    parser.add_argument("snapshot_root")
    parser.add_argument("out")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rps", type=int, default=1000)
    parser.add_argument("--sample", type=float, default=10)
    args = parser.parse_args()

    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        server = subprocess.Popen(
            [f"{args.build}/recserve-server", "--snapshot_dir", args.snapshot_root,
             "--listen", "127.0.0.1:0", "--metrics_listen", "", "--save_indexes=false"],
            stdout=log, stderr=log)
        try:
            port = wait_port(server, log.name)
            duration_s = int(args.minutes * 60)
            # Files, not pipes: the JSON report outgrows a pipe's buffer.
            bench_out = tempfile.TemporaryFile("w+")
            bench_err = tempfile.TemporaryFile("w+")
            bench = subprocess.Popen(
                [f"{args.build}/recserve-bench", f"--server=127.0.0.1:{port}",
                 f"--snapshot_dir={args.snapshot_root}", f"--rps={args.rps}",
                 f"--duration={duration_s}s", "--ids=zipf",
                 "--mix=recommend=6,similar=2,predict=2,health=0", "--json"],
                stdout=bench_out, stderr=bench_err, text=True)
            started = time.monotonic()
            samples = []
            while bench.poll() is None:
                samples.append({"seconds": round(time.monotonic() - started, 1),
                                "resident_mb": round(resident_mb(server.pid), 1)})
                time.sleep(args.sample)
                if time.monotonic() - started > duration_s + 120:
                    bench.kill()
                    sys.exit("recserve-bench did not stop")
            bench.wait()
            bench_out.seek(0)
            bench_err.seek(0)
            out, err = bench_out.read(), bench_err.read()
            if bench.returncode != 0:
                sys.exit("recserve-bench failed: " + err)
            samples.append({"seconds": round(time.monotonic() - started, 1),
                            "resident_mb": round(resident_mb(server.pid), 1)})
            alive = server.poll() is None
        finally:
            server.terminate()
            server.wait(timeout=60)
        load = json.loads(out)
    after_first_minute = [s for s in samples if s["seconds"] >= 60] or samples
    start_mb = after_first_minute[0]["resident_mb"]
    end_mb = samples[-1]["resident_mb"]
    report = {
        "minutes": args.minutes, "rps": args.rps, "server_alive_at_end": alive,
        "resident_mb_at_1_min": start_mb, "resident_mb_at_end": end_mb,
        "growth_mb": round(end_mb - start_mb, 1),
        "growth_percent": round(100 * (end_mb - start_mb) / start_mb, 2),
        "calls": load.get("count"), "achieved_rps": round(load.get("rps", 0), 1),
        "status_codes": load.get("statusCodeDistribution"),
        "errors": load.get("errorDistribution"),
        "samples": samples, "load": load,
    }
    json.dump(report, open(args.out, "w"), indent=2)
    print(json.dumps({k: v for k, v in report.items() if k not in ("samples", "load")}))


if __name__ == "__main__":
    main()
