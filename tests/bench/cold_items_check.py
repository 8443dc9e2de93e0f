#!/usr/bin/python3
"""New items (cold items) measured through recserve-server, on any MovieLens
release (issue 17): how well the server ranks items nobody has rated, placed
from their metadata alone.

1. Reads the ratings (ratings.csv "userId,movieId,rating,timestamp",
   ratings.dat "u::i::r::t" or u.data "u\\ti\\tr\\tt", detected from the
   first line), holds out a seeded random --held_out share of the items that
   have ratings and metadata, with all their ratings, and writes the other
   lines unchanged to WORK/.
2. Trains on them with recserve-train --split none --build_index and the
   full --items metadata (and --item_tags): the held-out items are in the
   metadata without interactions, so they are published as cold items.
3. Starts recserve-server on 127.0.0.1 (a free port) on that snapshot.
4. For up to --max_users users (a seeded sample) with a relevant held-out
   rating (>= --relevance) and a training rating, calls Recommend(n = k,
   filter.item_ids = every held-out item) and measures HR@k and NDCG@k
   (binary relevance, ideal DCG over min(relevant, k) items), beside the
   exact expectation of a random order and beside "popularity by shared
   labels" (an item's score: the mean over its genres of the mean training
   rating count of the items with that genre; the mean of all without
   genres), both computed here from the same split. Checks every answer
   holds only held-out items, flagged ScoredItem.cold.
5. Prints a table, writes --report_json; exits 1 when the trainer or the
   server failed, a check failed or no user was measured (2: usage).

usage: cold_items_check.py --ratings FILE --items movies.csv
    [--item_tags tags.csv] [--held_out 0.1] [--seed 1] [--build build]
    [--max_users 2000] [--train_args "..."] [--work DIR] [--report_json F]
Only ever listens on 127.0.0.1; the server is always stopped; each step is
bounded in time (--train_timeout, --server_timeout, --deadline per call).
Run with /usr/bin/python3 (Debian's python3-grpcio).
"""
import argparse
import csv
import json
import math
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_server import (CheckError, add_build_args, default_stubs,  # noqa
                          id_key, import_stubs, ratio, require_binaries,
                          run_trainer, serving)

PROG = "cold_items_check.py"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
NO_GENRES = "(no genres listed)"
UITEM_GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's",
                "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
                "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
                "Sci-Fi", "Thriller", "War", "Western"]


# --- Reading -----------------------------------------------------------------

def first_line(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip():
                return line.lstrip("\ufeff").rstrip("\r\n")
    raise CheckError(f"{path}: empty file")


def rating_format(path):
    """("dat" | "tab" | "csv", csv column indices or None)."""
    line = first_line(path)
    if "::" in line:
        return "dat", None
    if "\t" in line:
        return "tab", None
    header = [h.strip() for h in line.split(",")]
    try:
        columns = tuple(header.index(c) for c in ("userId", "movieId",
                                                  "rating"))
    except ValueError:
        raise CheckError(f"{path}:1: expected a ratings.csv header with "
                         f"userId,movieId,rating, got '{line}'")
    return "csv", columns


def rating_lines(path):
    """Yields (raw line, user, item, rating); the raw line is None for a
    header. Raises CheckError naming path:line for a malformed line."""
    fmt, columns = rating_format(path)
    with open(path, encoding="utf-8", errors="surrogateescape",
              newline="") as f:
        header_done = fmt != "csv"
        for number, line in enumerate(f, 1):
            text = line.lstrip("\ufeff").rstrip("\r\n")
            if not text.strip():
                continue
            if not header_done:
                header_done = True
                yield line, None, None, None
                continue
            if fmt == "csv":
                fields = [f.strip() for f in text.split(",")]
                picked = [0, 1, 2] if len(fields) > max(columns) else []
                picked = [columns[c] for c in picked]
            else:
                fields = text.split("::" if fmt == "dat" else "\t")
                picked = [0, 1, 2] if len(fields) >= 3 else []
            user, item, rating = ([fields[c] for c in picked] if picked
                                  else ("", "", ""))
            try:
                value = float(rating)
            except ValueError:
                value = float("nan")
            if not user or not item or value != value:
                raise CheckError(f"{path}:{number}: expected user, item and "
                                 f"a numeric rating, got '{text}'")
            yield line, user, item, value


def read_genres(path):
    """{item id: [genres]} in file order, from movies.csv, movies.dat or
    u.item ("(no genres listed)" and u.item's unknown flag: no genres)."""
    out = {}
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # ML-100K and ML-1M
    lines = [l for l in text.lstrip("\ufeff").splitlines() if l.strip()]
    if not lines:
        raise CheckError(f"{path}: empty metadata file")
    head = lines[0].strip()
    if head == "movieId,title,genres":
        for number, row in enumerate(csv.reader(lines[1:]), 2):
            if len(row) != 3:
                raise CheckError(f"{path}:{number}: expected movieId,title,"
                                 f"genres, got {len(row)} fields")
            out[row[0].strip()] = [g for g in row[2].split("|")
                                   if g and g != NO_GENRES]
    elif "::" in head:
        for number, line in enumerate(lines, 1):
            fields = line.split("::")
            if len(fields) != 3:
                raise CheckError(
                    f"{path}:{number}: expected id::title::genres")
            out[fields[0].strip()] = [g for g in fields[2].split("|")
                                      if g and g != NO_GENRES]
    elif len(head.split("|")) == 24:
        for number, line in enumerate(lines, 1):
            fields = line.split("|")
            if len(fields) != 24:
                raise CheckError(f"{path}:{number}: expected 24 u.item fields")
            out[fields[0].strip()] = [
                UITEM_GENRES[i] for i, flag in enumerate(fields[5:]) if
                flag.strip() == "1" and i > 0]
    else:
        raise CheckError(f"{path}:1: not movies.csv (header movieId,title,"
                         f"genres), movies.dat or u.item: '{head}'")
    return out


# --- The split ---------------------------------------------------------------

def split_ratings(args, genres, work):
    """Pass 1 counts ratings per item and picks the held-out items; pass 2
    writes the other lines to WORK/<ratings file name> and keeps the held-out
    ratings. Returns a dict describing the split."""
    counts = {}
    for _, _, item, _ in rating_lines(args.ratings):
        if item is not None:
            counts[item] = counts.get(item, 0) + 1
    if not counts:
        raise CheckError(f"{args.ratings}: no ratings")
    rated = sorted(counts, key=id_key)
    candidates = [i for i in rated if i in genres]
    without_metadata = len(rated) - len(candidates)
    wanted = int(round(args.held_out * len(rated)))
    wanted = max(1, min(wanted, len(candidates), len(rated) - 1))
    if wanted < 1:
        raise CheckError("no rated item has metadata: nothing can be held "
                         "out as a cold item")
    held = set(random.Random(args.seed).sample(candidates, wanted))

    train_path = os.path.join(work, os.path.basename(args.ratings))
    train_users = set()
    held_ratings = {}  # user -> {item: rating}
    train_lines = 0
    with open(train_path, "w", encoding="utf-8", errors="surrogateescape",
              newline="") as out:
        for line, user, item, rating in rating_lines(args.ratings):
            if user is None:
                out.write(line)
            elif item in held:
                held_ratings.setdefault(user, {})[item] = rating
            else:
                out.write(line if line.endswith("\n") else line + "\n")
                train_users.add(user)
                train_lines += 1
    return {"train_path": train_path, "counts": counts, "rated": rated,
            "held": held, "held_ratings": held_ratings,
            "train_users": train_users, "train_lines": train_lines,
            "without_metadata": without_metadata}


# --- Figures -----------------------------------------------------------------

def discount(position):  # position 0-based
    return 1.0 / math.log2(position + 2)


def measure(top, relevant, k):
    """(hit, ndcg) of one ranked list against a set of relevant items."""
    seen, dcg = set(), 0.0
    for position, item in enumerate(top[:k]):
        if item in relevant and item not in seen:
            dcg += discount(position)
        seen.add(item)
    ideal = sum(discount(p) for p in range(min(len(relevant), k)))
    hit = any(item in relevant for item in top[:k])
    return (1.0 if hit else 0.0), (dcg / ideal if ideal > 0 else 0.0)


def expected_random(m, r, k):
    """Exact expected (HR@k, NDCG@k) of a uniformly random order of m items
    of which r are relevant."""
    r = min(r, m)
    miss = 1.0
    for j in range(min(k, m)):  # C(m - r, k) / C(m, k) as a product
        miss *= max(0, m - r - j) / (m - j)
    edcg = (r / m) * sum(discount(j) for j in range(min(k, m)))
    ideal = sum(discount(p) for p in range(min(r, k)))
    return 1.0 - miss, (edcg / ideal if ideal > 0 else 0.0)


def label_popularity_order(held, genres, counts):
    """The held-out items ordered by popularity by shared labels (ties: the
    metadata's order), from the training rating counts only."""
    warm = [i for i in counts if i not in held]
    by_genre = {}
    for item in warm:
        for g in set(genres.get(item, [])):
            by_genre.setdefault(g, []).append(counts[item])
    mean_of = {g: sum(v) / len(v) for g, v in by_genre.items()}
    overall = sum(counts[i] for i in warm) / len(warm) if warm else 0.0

    def score(item):
        known = [mean_of[g] for g in set(genres.get(item, [])) if g in mean_of]
        return sum(known) / len(known) if known else overall
    position = {item: p for p, item in enumerate(genres)}
    return sorted(held, key=lambda i: (-score(i), position.get(i, 0)))


# --- The server --------------------------------------------------------------

def load_stubs(args, work, notes):
    """(grpc, pb2, has_cold). Uses --stubs; when its ScoredItem predates the
    cold flag, regenerates recommender_pb2 from the repository's proto with
    protoc into WORK/python."""
    stubs = default_stubs(args)
    generated = os.path.join(stubs, "recserve", "v1", "recommender_pb2.py")
    fresh = os.path.exists(generated) and "cold" in open(
        generated, encoding="latin-1").read()
    proto_dir = os.path.join(REPO, "proto")
    if not fresh and shutil.which("protoc") and os.path.isdir(proto_dir):
        target = os.path.join(work, "python")
        os.makedirs(target, exist_ok=True)
        made = subprocess.run(
            ["protoc", f"--proto_path={proto_dir}", f"--python_out={target}",
             os.path.join(proto_dir, "recserve", "v1", "recommender.proto")],
            capture_output=True, text=True, timeout=60)
        if made.returncode == 0:
            for d in ("recserve", os.path.join("recserve", "v1")):
                open(os.path.join(target, d, "__init__.py"), "a").close()
            notes.append(f"stubs in {stubs} predate ScoredItem.cold: "
                         f"regenerated from {proto_dir} with protoc")
            stubs = target
        else:
            notes.append("protoc could not regenerate the stubs: "
                         + made.stderr.strip())
    grpc, pb2 = import_stubs(stubs)
    has_cold = "cold" in pb2.ScoredItem.DESCRIPTOR.fields_by_name
    if not has_cold:
        notes.append("the stubs have no ScoredItem.cold: the cold flag is "
                     "not checked")
    return grpc, pb2, has_cold


# --- The run -----------------------------------------------------------------

def train(args, split, work):
    snapshots = os.path.join(work, "snapshots")
    report = os.path.join(work, "train_report.json")
    command = [os.path.join(args.build, "recserve-train"),
               "--ratings", split["train_path"], "--items", args.items,
               "--split", "none", "--build_index", "--seed", str(args.seed),
               "--out", snapshots, "--report_json", report]
    if args.item_tags:
        command += ["--item_tags", args.item_tags]
    command += shlex.split(args.train_args)
    print("training: " + " ".join(shlex.quote(c) for c in command),
          flush=True)
    seconds = run_trainer(command, os.path.join(work, "train.log"),
                          args.train_timeout)
    published = {}
    try:
        published = json.load(open(report)).get("cold_items", {}).get(
            "published", {})
    except (OSError, ValueError):
        pass
    return snapshots, seconds, published


def measure_server(args, grpc, pb2, has_cold, channel, split, users,
                   held_ids):
    recommend = channel.unary_unary(
        "/recserve.v1.Recommender/Recommend",
        request_serializer=pb2.RecommendRequest.SerializeToString,
        response_deserializer=pb2.RecommendResponse.FromString)
    held = split["held"]
    totals = {"hit": 0.0, "ndcg": 0.0}
    problems = {"rpc_errors": 0, "fallbacks": 0, "outside_filter": 0,
                "not_cold": 0, "short_answers": 0}
    examples = []
    want = min(args.k, len(held))
    measured = 0
    for user in users:
        relevant = {i for i, r in split["held_ratings"][user].items()
                    if r >= args.relevance}
        request = pb2.RecommendRequest(
            user_id=user, n=args.k, exact=args.exact,
            filter=pb2.ItemFilter(item_ids=held_ids))
        try:
            answer = recommend(request, timeout=args.deadline)
        except grpc.RpcError as e:
            problems["rpc_errors"] += 1
            if len(examples) < 5:
                examples.append(f"user {user}: {e.code().name}: {e.details()}")
            if problems["rpc_errors"] >= 10:
                break
            continue
        top = [i.item_id for i in answer.items]
        if answer.fallback:
            problems["fallbacks"] += 1
        outside = [i for i in top if i not in held]
        problems["outside_filter"] += len(outside)
        if outside and len(examples) < 5:
            examples.append(f"user {user}: items outside the filter {outside}")
        if has_cold:
            warm = [i.item_id for i in answer.items if not i.cold]
            problems["not_cold"] += len(warm)
            if warm and len(examples) < 5:
                examples.append(f"user {user}: items not flagged cold {warm}")
        if len(top) < want:
            problems["short_answers"] += 1
        hit, ndcg = measure(top, relevant, args.k)
        totals["hit"] += hit
        totals["ndcg"] += ndcg
        measured += 1
    figures = {"hit_rate": totals["hit"] / measured if measured else 0.0,
               "ndcg": totals["ndcg"] / measured if measured else 0.0}
    return measured, figures, problems, examples


def run(args, work, notes):
    genres = read_genres(args.items)
    split = split_ratings(args, genres, work)
    held = split["held"]
    print(f"split: {len(held)} of {len(split['rated'])} rated items held out "
          f"(seed {args.seed}), {split['train_lines']} training ratings"
          + (f"; {split['without_metadata']} rated items have no metadata "
             "and are never held out" if split["without_metadata"] else ""),
          flush=True)

    # Users measured: a relevant held-out rating and a training rating (an
    # unknown user would get the popularity fallback, not the model).
    eligible = sorted((u for u, r in split["held_ratings"].items()
                       if u in split["train_users"] and
                       any(v >= args.relevance for v in r.values())),
                      key=id_key)
    unknown = sum(1 for u, r in split["held_ratings"].items()
                  if u not in split["train_users"] and
                  any(v >= args.relevance for v in r.values()))
    users = eligible
    if args.max_users > 0 and len(users) > args.max_users:
        users = sorted(random.Random(args.seed).sample(users, args.max_users),
                       key=id_key)
    if not users:
        raise CheckError("no user has a relevant held-out rating and a "
                         "training rating: nothing to measure")

    held_ids = sorted(held, key=id_key)
    m = len(held_ids)
    random_totals = [0.0, 0.0]
    popular_totals = [0.0, 0.0]
    order = label_popularity_order(held, genres, split["counts"])
    for user in users:
        relevant = {i for i, r in split["held_ratings"][user].items()
                    if r >= args.relevance}
        for totals, figures in (
                (random_totals, expected_random(m, len(relevant), args.k)),
                (popular_totals, measure(order, relevant, args.k))):
            totals[0] += figures[0]
            totals[1] += figures[1]
    n = len(users)
    random_figures = {"hit_rate": random_totals[0] / n,
                      "ndcg": random_totals[1] / n}
    popular_figures = {"hit_rate": popular_totals[0] / n,
                       "ndcg": popular_totals[1] / n}

    grpc, pb2, has_cold = load_stubs(args, work, notes)
    snapshots, train_seconds, published = train(args, split, work)
    if published:
        print(f"trained in {train_seconds:.0f} s: "
              f"{published.get('cold_items')} cold items published, "
              f"{published.get('attributes')} attributes", flush=True)
        if published.get("cold_items", 0) < m:
            notes.append(f"the trainer published {published.get('cold_items')}"
                         f" cold items, fewer than the {m} held out")

    with serving(grpc, args.build, snapshots, work, args.server_timeout,
                 ["--max_filter_items", str(max(10000, m))]) as (
                     server, channel, start_seconds):
        started = time.monotonic()
        measured, mapped, problems, examples = measure_server(
            args, grpc, pb2, has_cold, channel, split, users, held_ids)
        query_seconds = time.monotonic() - started
        channel.close()
        alive = server.poll() is None
    if not alive:
        problems["server_exited"] = 1

    result = {
        "ratings": os.path.abspath(args.ratings),
        "items": os.path.abspath(args.items),
        "item_tags": os.path.abspath(args.item_tags) if args.item_tags else "",
        "seed": args.seed, "k": args.k, "relevance": args.relevance,
        "exact": args.exact, "train_args": args.train_args,
        "rated_items": len(split["rated"]), "held_out_items": m,
        "training_ratings": split["train_lines"],
        "users_eligible": len(eligible), "users_measured": measured,
        "users_unknown_to_training": unknown,
        "mapped": mapped, "random": random_figures,
        "label_popularity": popular_figures,
        "hit_rate_vs_random": ratio(mapped["hit_rate"],
                                    random_figures["hit_rate"]),
        "ndcg_vs_random": ratio(mapped["ndcg"], random_figures["ndcg"]),
        "cold_flag_checked": has_cold, "problems": problems,
        "problem_examples": examples, "notes": notes,
        "train_seconds": train_seconds, "server_start_seconds": start_seconds,
        "query_seconds": query_seconds, "published": published,
    }
    if measured != n:
        result["users_not_measured"] = n - measured
    return result


def print_result(r):
    print(f"\nCold items through recserve-server: {r['held_out_items']} "
          f"held-out items of {r['rated_items']}, {r['users_measured']} users"
          f" measured (of {r['users_eligible']} with a relevant held-out "
          f"rating >= {r['relevance']:g})")
    rows = [("mapped (server)", r["mapped"]),
            ("popularity by labels", r["label_popularity"]),
            ("random (expected)", r["random"])]
    k = r["k"]
    print(f"{'ranking':<22}{'HR@' + str(k):>9}{'NDCG@' + str(k):>10}"
          f"{'HR ×random':>12}{'NDCG ×random':>14}")
    for name, f in rows:
        print(f"{name:<22}{f['hit_rate']:>9.4f}{f['ndcg']:>10.4f}"
              f"{ratio(f['hit_rate'], r['random']['hit_rate']):>11.2f}×"
              f"{ratio(f['ndcg'], r['random']['ndcg']):>13.2f}×")
    bad = {k: v for k, v in r["problems"].items() if v}
    if bad:
        print("PROBLEMS: " + ", ".join(f"{k} {v}" for k, v in bad.items()))
        for e in r["problem_examples"]:
            print("  " + e)
    for note in r["notes"]:
        print("note: " + note)


def main():
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("--ratings", required=True,
                   help="ratings.csv, ratings.dat or u.data")
    p.add_argument("--items", required=True,
                   help="movies.csv (or movies.dat, u.item): the metadata")
    p.add_argument("--item_tags", default="", help="tags.csv, optional")
    p.add_argument("--held_out", type=float, default=0.1,
                   help="share of the rated items held out (default 0.1)")
    p.add_argument("--seed", type=int, default=1)
    add_build_args(p, REPO)
    p.add_argument("--max_users", type=int, default=2000,
                   help="users measured at most, a seeded sample; 0 = all")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--relevance", type=float, default=4.0,
                   help="held-out ratings at or above this are relevant")
    p.add_argument("--exact", action="store_true",
                   help="Recommend with exact (brute-force) retrieval")
    p.add_argument("--train_args", default="",
                   help="extra recserve-train flags as one string; write it "
                   "--train_args=\"--algo als\" (a value starting with a "
                   "dash needs the '=')")
    p.add_argument("--work", default="",
                   help="work directory (kept; default: a temporary one, "
                   "removed at the end)")
    p.add_argument("--report_json", default="")
    p.add_argument("--train_timeout", type=float, default=4 * 3600)
    p.add_argument("--server_timeout", type=float, default=600,
                   help="seconds for the server to become SERVING")
    p.add_argument("--deadline", type=float, default=30,
                   help="seconds per Recommend call")
    args = p.parse_args()
    if not 0 < args.held_out < 1:
        p.error("--held_out must be in (0, 1)")
    if args.k < 1 or args.max_users < 0:
        p.error("--k must be >= 1 and --max_users >= 0")
    for path in (args.ratings, args.items, args.item_tags):
        if path and not os.path.isfile(path):
            p.error(f"no such file: {path}")
    require_binaries(p, args.build)

    temporary = not args.work
    work = tempfile.mkdtemp(prefix="cold_items_check-") if temporary \
        else args.work
    os.makedirs(work, exist_ok=True)
    notes = []
    try:
        result = run(args, work, notes)
    except CheckError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
    print_result(result)
    if args.report_json:
        with open(args.report_json, "w") as f:
            json.dump(result, f, indent=2)
    if result["users_measured"] == 0:
        print(f"{PROG}: no user was measured", file=sys.stderr)
        return 1
    if any(result["problems"].values()):
        print(f"{PROG}: the server's answers failed a check", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
