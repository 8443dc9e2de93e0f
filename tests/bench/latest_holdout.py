#!/usr/bin/python3
"""Leave-latest-out quality of recserve measured through recserve-server,
beside a popularity baseline computed here on the same split.

1. Reads a MovieLens 100K ratings file (u.data: "user<TAB>item<TAB>rating
   <TAB>timestamp") and holds out each user's latest rating (the largest
   timestamp; a tie goes to the later line). A user with a single rating
   keeps it for training and is not measured. The other lines are written
   unchanged to WORK/<ratings file name>.
2. Trains on them with recserve-train's defaults plus --split none (train on
   every line of that file, no evaluation, nothing held out or refitted)
   and --out, with --items when given. Checks the trainer's report says it
   published all_ratings, exactly the training lines (so the seen lists
   hold the training ratings only).
3. Starts recserve-server on 127.0.0.1 (a free port) on that snapshot.
4. Calls Recommend(user, n = k) for every measured user (the server leaves
   out the user's seen items): HR@k (held-out item in the top k) and NDCG@k
   (1 / log2(rank + 2) for a hit at 0-based rank), averaged over the users.
5. Popularity: items ranked by their number of training ratings (ties: the
   smaller item id), the user's training items left out, top k; same
   metrics, and recserve / popularity ratios.
6. Prints a table and writes every figure, with the training wall time, to
   --json.

usage: latest_holdout.py --ratings u.data [--items u.item] [--build build]
    [--k 10] [--json OUT] [--work DIR] [--train_args "..."]
e.g.   /usr/bin/python3 tests/bench/latest_holdout.py --build build \\
           --ratings ml-100k/u.data --items ml-100k/u.item --json loo.json
Only ever listens on 127.0.0.1; the server is always stopped; each step is
bounded in time (--train_timeout, --server_timeout, --deadline per call).
Run with /usr/bin/python3 (Debian's python3-grpcio) and the stubs CMake
generates into BUILD/python (target recserve_python_stubs), or --stubs /
$RECSERVE_PYTHON_STUBS. Exit codes: 0 success, 1 a step failed, 2 usage.
"""
import argparse
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_server import (CheckError, add_build_args, default_stubs,  # noqa
                          id_key, import_stubs, ratio, require_binaries,
                          run_trainer, serving)

PROG = "latest_holdout.py"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


# --- The split ---------------------------------------------------------------

def read_ratings(path):
    """[(raw line, user, item, timestamp)] in file order."""
    rows = []
    with open(path, encoding="utf-8", errors="surrogateescape",
              newline="") as f:
        for number, line in enumerate(f, 1):
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            fields = text.split("\t")
            try:
                if len(fields) != 4 or not fields[0] or not fields[1]:
                    raise ValueError
                float(fields[2])
                timestamp = int(fields[3])
            except ValueError:
                raise CheckError(f"{path}:{number}: expected user<TAB>item"
                                 f"<TAB>rating<TAB>timestamp, got '{text}'")
            rows.append((line if line.endswith("\n") else line + "\n",
                         fields[0], fields[1], timestamp))
    if not rows:
        raise CheckError(f"{path}: no ratings")
    return rows


def split_latest(rows, work, name):
    """Holds out each user's latest rating; writes the rest to WORK/name."""
    latest = {}  # user -> index of the latest row (ties: the later line)
    count = {}
    for index, (_, user, _, timestamp) in enumerate(rows):
        count[user] = count.get(user, 0) + 1
        best = latest.get(user)
        if best is None or timestamp >= rows[best][3]:
            latest[user] = index
    held_rows = {i for u, i in latest.items() if count[u] >= 2}
    train_path = os.path.join(work, name)
    seen = {}  # user -> set of training items
    counts = {}  # item -> training ratings
    with open(train_path, "w", encoding="utf-8", errors="surrogateescape",
              newline="") as out:
        for index, (line, user, item, _) in enumerate(rows):
            if index in held_rows:
                continue
            out.write(line)
            seen.setdefault(user, set()).add(item)
            counts[item] = counts.get(item, 0) + 1
    held = {rows[i][1]: rows[i][2] for i in held_rows}
    return {"train_path": train_path, "held": held, "seen": seen,
            "counts": counts, "train_lines": len(rows) - len(held_rows),
            "single_rating_users": sum(1 for c in count.values() if c < 2),
            "users": len(count)}


# --- Figures -----------------------------------------------------------------

def score(top, target, k):
    """(hit, ndcg) of a ranked list against the one held-out item."""
    for rank, item in enumerate(top[:k]):
        if item == target:
            return 1.0, 1.0 / math.log2(rank + 2)
    return 0.0, 0.0


def popularity(split, users, k):
    order = sorted(split["counts"], key=lambda i: (-split["counts"][i],
                                                   id_key(i)))
    hits = ndcg = 0.0
    for user in users:
        seen = split["seen"][user]
        top = []
        for item in order:
            if item not in seen:
                top.append(item)
                if len(top) == k:
                    break
        h, n = score(top, split["held"][user], k)
        hits += h
        ndcg += n
    return {"hit_rate": hits / len(users), "ndcg": ndcg / len(users)}


# --- Training ----------------------------------------------------------------

def train(args, split, work):
    snapshots = os.path.join(work, "snapshots")
    report = os.path.join(work, "train_report.json")
    command = [os.path.join(args.build, "recserve-train"),
               "--ratings", split["train_path"], "--split", "none",
               "--out", snapshots, "--report_json", report]
    if args.items:
        command += ["--items", args.items]
    command += shlex.split(args.train_args)
    print("training: " + " ".join(shlex.quote(c) for c in command),
          flush=True)
    seconds = run_trainer(command, os.path.join(work, "train.log"),
                          args.train_timeout)
    try:
        params = json.load(open(report)).get("params", {})
    except (OSError, ValueError) as e:
        raise CheckError(f"cannot read the trainer's report {report}: {e}")
    published = params.get("published")
    published_ratings = params.get("published_ratings")
    if published != "all_ratings" or published_ratings != split["train_lines"]:
        raise CheckError(f"the trainer published '{published}' on "
                         f"{published_ratings} ratings, expected all_ratings "
                         f"on the {split['train_lines']} training ratings")
    return snapshots, seconds, command, {
        "published": published, "published_ratings": published_ratings,
        "algo": params.get("algo")}


# --- The server --------------------------------------------------------------

def measure_server(args, grpc, pb2, channel, split, users):
    recommend = channel.unary_unary(
        "/recserve.v1.Recommender/Recommend",
        request_serializer=pb2.RecommendRequest.SerializeToString,
        response_deserializer=pb2.RecommendResponse.FromString)
    hits = ndcg = 0.0
    problems = {"rpc_errors": 0, "fallbacks": 0, "short_answers": 0,
                "seen_returned": 0}
    examples = []
    versions = set()
    for user in users:
        try:
            answer = recommend(pb2.RecommendRequest(user_id=user, n=args.k),
                               timeout=args.deadline)
        except grpc.RpcError as e:
            problems["rpc_errors"] += 1
            if len(examples) < 5:
                examples.append(f"user {user}: {e.code().name}: {e.details()}")
            if problems["rpc_errors"] >= 10:
                raise CheckError("10 Recommend calls failed: "
                                 + "; ".join(examples))
            continue
        versions.add(answer.model_version)
        top = [i.item_id for i in answer.items]
        if answer.fallback:
            problems["fallbacks"] += 1
        if len(top) < args.k:
            problems["short_answers"] += 1
        seen = [i for i in top if i in split["seen"][user]]
        problems["seen_returned"] += len(seen)
        if seen and len(examples) < 5:
            examples.append(f"user {user}: seen items returned {seen}")
        h, n = score(top, split["held"][user], args.k)
        hits += h
        ndcg += n
    measured = len(users) - problems["rpc_errors"]
    figures = {"hit_rate": hits / measured if measured else 0.0,
               "ndcg": ndcg / measured if measured else 0.0}
    return measured, figures, problems, examples, sorted(versions)


# --- The run -----------------------------------------------------------------

def run(args, work):
    grpc, pb2 = import_stubs(default_stubs(args))
    rows = read_ratings(args.ratings)
    split = split_latest(rows, work, os.path.basename(args.ratings))
    users = sorted(split["held"], key=id_key)
    if not users:
        raise CheckError("no user has two ratings: nothing to measure")
    cold_targets = sum(1 for u in users
                       if split["held"][u] not in split["counts"])
    print(f"split: {len(users)} held-out ratings (each user's latest), "
          f"{split['train_lines']} training ratings; {cold_targets} held-out "
          "items have no training rating", flush=True)

    popular = popularity(split, users, args.k)
    snapshots, train_seconds, command, published = train(args, split, work)
    print(f"trained in {train_seconds:.1f} s", flush=True)

    with serving(grpc, args.build, snapshots, work,
                 args.server_timeout) as (server, channel, start_seconds):
        started = time.monotonic()
        measured, served, problems, examples, versions = measure_server(
            args, grpc, pb2, channel, split, users)
        query_seconds = time.monotonic() - started
        channel.close()
        if server.poll() is not None:
            problems["server_exited"] = 1

    return {
        "ratings": os.path.abspath(args.ratings),
        "items": os.path.abspath(args.items) if args.items else "",
        "k": args.k, "train_args": args.train_args,
        "train_command": [os.path.basename(command[0])] + command[1:],
        "ratings_read": len(rows), "users": split["users"],
        "training_ratings": split["train_lines"],
        "held_out": len(users),
        "single_rating_users": split["single_rating_users"],
        "held_out_without_training_rating": cold_targets,
        "users_measured": measured,
        "recserve": served, "popularity": popular,
        "hit_rate_vs_popularity": ratio(served["hit_rate"],
                                        popular["hit_rate"]),
        "ndcg_vs_popularity": ratio(served["ndcg"], popular["ndcg"]),
        "train_seconds": train_seconds,
        "server_start_seconds": start_seconds,
        "query_seconds": query_seconds, "model_versions": versions,
        "published": published, "problems": problems,
        "problem_examples": examples,
    }


def print_result(r):
    k = r["k"]
    print(f"\nLeave-latest-out through recserve-server: {r['users_measured']}"
          f" users, {r['training_ratings']} training ratings, trained in "
          f"{r['train_seconds']:.1f} s")
    print(f"{'ranking':<14}{'HR@' + str(k):>9}{'NDCG@' + str(k):>10}")
    for name in ("recserve", "popularity"):
        f = r[name]
        print(f"{name:<14}{f['hit_rate']:>9.4f}{f['ndcg']:>10.4f}")
    print(f"{'ratio':<14}{r['hit_rate_vs_popularity']:>8.2f}×"
          f"{r['ndcg_vs_popularity']:>9.2f}×")
    bad = {k: v for k, v in r["problems"].items() if v}
    if bad:
        print("PROBLEMS: " + ", ".join(f"{k} {v}" for k, v in bad.items()))
        for e in r["problem_examples"]:
            print("  " + e)


def main():
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("--ratings", required=True,
                   help="ratings in MovieLens 100K format (u.data)")
    p.add_argument("--items", default="",
                   help="item metadata (u.item), passed to the trainer")
    add_build_args(p, REPO)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--json", default="", help="write every figure here")
    p.add_argument("--train_args", default="",
                   help="extra recserve-train flags as one string; write it "
                   "--train_args=\"--seed 2\" (a value starting with a dash "
                   "needs the '=')")
    p.add_argument("--work", default="",
                   help="work directory (kept; default: a temporary one, "
                   "removed at the end)")
    p.add_argument("--train_timeout", type=float, default=3600)
    p.add_argument("--server_timeout", type=float, default=300,
                   help="seconds for the server to become SERVING")
    p.add_argument("--deadline", type=float, default=10,
                   help="seconds per Recommend call")
    args = p.parse_args()
    if args.k < 1:
        p.error("--k must be >= 1")
    for path in (args.ratings, args.items):
        if path and not os.path.isfile(path):
            p.error(f"no such file: {path}")
    require_binaries(p, args.build)

    temporary = not args.work
    work = tempfile.mkdtemp(prefix="latest_holdout-") if temporary \
        else args.work
    os.makedirs(work, exist_ok=True)
    try:
        result = run(args, work)
    except CheckError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
    print_result(result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    if result["users_measured"] == 0 or any(result["problems"].values()):
        print(f"{PROG}: no user was measured or a check failed",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
