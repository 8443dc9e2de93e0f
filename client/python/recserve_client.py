#!/usr/bin/python3
"""An example Python client of recserve-server.

Uses Debian's python3-grpcio and the stubs that CMake generates from
proto/recserve/v1/recommender.proto into <build>/python (see README.md):

    /usr/bin/python3 recserve_client.py --stubs build/python \
        --server localhost:50051 recommend --user 42 -n 10
    /usr/bin/python3 recserve_client.py --stubs build/python \
        recommend --user new --recent 50,172:5,181:4:2 \
        --include_labels Comedy --explain
    # Two of the ten slots for new items placed from their metadata:
    /usr/bin/python3 recserve_client.py --stubs build/python \
        recommend --user 42 -n 10 --cold_items 2
    # A snapshot trained on events (info says feedback implicit):
    /usr/bin/python3 recserve_client.py --stubs build/python \
        recommend --user new --recent 50@view,172@purchase,181@view*3

Subcommands: recommend, similar, predict, info, health. Exit codes: 0
success, 1 an RPC error (or health not SERVING), 2 a usage error.
"""

import argparse
import json
import os
import sys

PROG = "recserve_client.py"


def fail(code, message):
    print(f"{PROG}: {message}", file=sys.stderr)
    sys.exit(code)


def load_stubs(stubs_dir):
    """Imports grpc and the generated modules, from stubs_dir if given."""
    if stubs_dir:
        sys.path.insert(0, stubs_dir)
    try:
        import grpc  # noqa: F401  (Debian: python3-grpcio)
        from recserve.v1 import recommender_pb2, recommender_pb2_grpc
    except ImportError as e:
        fail(2, f"cannot import grpc or the generated stubs ({e}); run with "
                "/usr/bin/python3 and set --stubs or RECSERVE_PYTHON_STUBS to "
                "the directory CMake generates them in (<build>/python)")
    return grpc, recommender_pb2, recommender_pb2_grpc


def print_table(headers, rows, right):
    """Prints rows under headers; columns in `right` are right-aligned."""
    widths = [max([len(h)] + [len(r[c]) for r in rows])
              for c, h in enumerate(headers)]
    for cells in [headers] + rows:
        line = "  ".join(
            cell.rjust(w) if c in right else cell.ljust(w)
            for c, (cell, w) in enumerate(zip(cells, widths)))
        print(line.rstrip())


def parse_event(entry, part):
    """(item_id, 0, weight, event) from "item@event[*weight]"."""
    item, _, event = part.rpartition("@")
    weight_text = None
    if "*" in event:
        event, _, weight_text = event.partition("*")
    if not item:
        raise ValueError(f"recent entry {entry} '{part}': empty item id")
    if not event:
        raise ValueError(f"recent entry {entry} '{part}': empty event type "
                         "(expected item@event)")
    if ":" in event:
        raise ValueError(f"recent entry {entry} '{part}': an event takes no "
                         "rating: expected item@event[*weight]")
    weight = 0.0
    if weight_text is not None:
        try:
            weight = float(weight_text)
        except ValueError:
            weight = float("nan")
        if weight != weight or weight in (float("inf"), float("-inf")):
            raise ValueError(f"recent entry {entry} '{part}': weight "
                             f"'{weight_text}' is not a finite number")
        if weight < 0:
            raise ValueError(f"recent entry {entry} '{part}': weight must be "
                             ">= 0")
    return (item, 0.0, weight, event)


def parse_recent(text):
    """[(item_id, rating, weight, event)] from "item[:rating[:weight]],..."
    (snapshots trained on ratings) or "item@event[*weight],..." (trained on
    events); raises ValueError naming the entry (same syntax as recserve-cli
    --recent)."""
    out = []
    if not text:
        return out
    for entry, part in enumerate(text.split(","), 1):
        if "@" in part:
            out.append(parse_event(entry, part))
            continue
        fields = part.split(":")
        if len(fields) > 3:
            raise ValueError(f"recent entry {entry} '{part}': expected "
                             "item[:rating[:weight]]")
        if not fields[0]:
            raise ValueError(f"recent entry {entry} '{part}': empty item id")
        numbers = []
        for name, value in zip(("rating", "weight"), fields[1:]):
            try:
                number = float(value)
            except ValueError:
                number = float("nan")
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError(f"recent entry {entry} '{part}': {name} "
                                 f"'{value}' is not a finite number")
            numbers.append(number)
        rating, weight = (numbers + [0.0, 0.0])[:2]
        if weight < 0:
            raise ValueError(f"recent entry {entry} '{part}': weight must be "
                             ">= 0")
        out.append((fields[0], rating, weight, ""))
    return out


def interactions(pb2, recent):
    return [pb2.Interaction(item_id=i, rating=r, weight=w, event=e)
            for i, r, w, e in recent]


def split_ids(text):
    return [i for i in text.split(",") if i]


def item_filter(pb2, args):
    return pb2.ItemFilter(include_labels=split_ids(args.include_labels),
                          exclude_labels=split_ids(args.exclude_labels),
                          item_ids=split_ids(args.filter_items))


def print_explanations(items):
    """The terms of each explained item's scores, and what it is because of."""
    explained = [(rank, i) for rank, i in enumerate(items, 1)
                 if i.HasField("explanation")]
    if not explained:
        return
    print("Why:")
    for rank, item in explained:
        e = item.explanation
        rating = e.global_mean + e.user_bias + e.item_bias + e.interaction
        print(f"  {rank}. {item.item_id}: rating {rating:.2f} = mean "
              f"{e.global_mean:.2f} + user {e.user_bias:+.2f} + item "
              f"{e.item_bias:+.2f} + interaction {e.interaction:+.2f}; "
              f"retrieval {e.retrieval_score:.4f}, blend weight "
              f"{e.blend_weight:.2f}")
        if e.because:
            print("     because: " + "; ".join(
                f"{c.item_id}{' ' + c.title if c.title else ''} "
                f"({c.share:+.4f})" for c in e.because))


def print_items(items, score_header, whole_scores, with_rating):
    if not items:
        print("(no items)")
        return
    headers = ["rank", "item id", score_header]
    if with_rating:
        headers.append("predicted rating")
    cold = any(i.cold for i in items)
    if cold:
        headers.append("cold")
    titles = any(i.title for i in items)
    # An item's labels include its genres: one column, not both.
    labels = any(i.labels for i in items)
    genres = any(i.genres for i in items) and not labels
    if titles:
        headers.append("title")
    if genres:
        headers.append("genres")
    if labels:
        headers.append("labels")
    rows = []
    for rank, item in enumerate(items, 1):
        row = [str(rank), item.item_id,
               f"{item.score:.0f}" if whole_scores else f"{item.score:.4f}"]
        if with_rating:
            row.append(f"{item.predicted_rating:.2f}")
        if cold:
            row.append("cold" if item.cold else "")
        if titles:
            row.append(item.title)
        if genres:
            row.append(", ".join(item.genres))
        if labels:
            row.append(", ".join(item.labels))
        rows.append(row)
    print_table(headers, rows, right={0, 2, 3} if with_rating else {0, 2})


def encode_health_request(service):
    """grpc.health.v1.HealthCheckRequest{service = 1} in wire format."""
    data = service.encode()
    if not data:
        return b""
    length, n = bytearray(), len(data)
    while n >= 0x80:
        length.append((n & 0x7F) | 0x80)
        n >>= 7
    length.append(n)
    return b"\x0a" + bytes(length) + data


def decode_health_status(data):
    """The status enum of a grpc.health.v1.HealthCheckResponse (field 1)."""
    if len(data) >= 2 and data[0] == 0x08:
        return data[1]
    return 0


HEALTH_NAMES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING",
                3: "SERVICE_UNKNOWN"}


def health_check(channel, service, timeout):
    """Returns the status name; grpc_health when installed, else raw bytes
    (Debian packages no grpc_health module for Python)."""
    try:
        from grpc_health.v1 import health_pb2, health_pb2_grpc
    except ImportError:
        check = channel.unary_unary("/grpc.health.v1.Health/Check")
        answer = check(encode_health_request(service), timeout=timeout)
        return HEALTH_NAMES.get(decode_health_status(answer), "UNKNOWN")
    stub = health_pb2_grpc.HealthStub(channel)
    answer = stub.Check(health_pb2.HealthCheckRequest(service=service),
                        timeout=timeout)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)


def main():
    parser = argparse.ArgumentParser(
        prog=PROG, description="Example client of recserve-server.")
    parser.add_argument("--server", default="localhost:50051",
                        help="host:port (default localhost:50051)")
    parser.add_argument("--deadline", type=float, default=5.0,
                        help="seconds per call (default 5)")
    parser.add_argument("--json", action="store_true",
                        help="print each answer as JSON")
    parser.add_argument("--stubs", default=os.environ.get(
        "RECSERVE_PYTHON_STUBS", ""),
        help="directory holding recserve/v1/recommender_pb2*.py "
             "(default: $RECSERVE_PYTHON_STUBS)")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("recommend", help="the top n items for a user")
    p.add_argument("--user", required=True)
    p.add_argument("-n", type=int, default=10)
    p.add_argument("--exclude", default="",
                   help="comma-separated item ids never to return")
    p.add_argument("--include_seen", action="store_true")
    p.add_argument("--exact", action="store_true")
    recent_help = ("recent interactions to fold in: comma-separated "
                   "item[:rating[:weight]], or item@event[*weight] for "
                   "snapshots trained on events")
    p.add_argument("--recent", default="", help=recent_help)
    p.add_argument("--explain", action="store_true",
                   help="explain each item's scores")
    p.add_argument("--cold_items", type=int, default=0,
                   help="reserve up to this many of the n slots for cold "
                   "items (new items placed from their metadata)")

    def add_filter(p):
        p.add_argument("--include_labels", default="",
                       help="only items with one of these labels")
        p.add_argument("--exclude_labels", default="",
                       help="no items with any of these labels")
        p.add_argument("--filter_items", default="",
                       help="only these item ids")
    add_filter(p)
    p = commands.add_parser("similar", help="the k most similar items")
    p.add_argument("--item", default="")
    p.add_argument("--items", default="",
                   help="several seed items, comma-separated")
    p.add_argument("-k", type=int, default=10)
    add_filter(p)
    p = commands.add_parser("predict", help="a predicted rating")
    p.add_argument("--user", required=True)
    p.add_argument("--item", required=True)
    p.add_argument("--recent", default="", help=recent_help)
    commands.add_parser("info", help="the model being served")
    p = commands.add_parser("health", help="the server's gRPC health")
    p.add_argument("--service", default="")
    args = parser.parse_args()
    if args.deadline <= 0:
        parser.error("--deadline must be positive")
    if args.command == "similar" and not (args.item or args.items):
        parser.error("similar needs --item or --items")
    try:
        recent = parse_recent(getattr(args, "recent", ""))
    except ValueError as e:
        parser.error(str(e))

    grpc, pb2, pb2_grpc = load_stubs(args.stubs)
    from google.protobuf import json_format

    def show(message):
        print(json.dumps(json_format.MessageToDict(
            message, preserving_proto_field_name=True,
            including_default_value_fields=True)))

    with grpc.insecure_channel(args.server) as channel:
        stub = pb2_grpc.RecommenderStub(channel)
        timeout = args.deadline
        try:
            if args.command == "recommend":
                request = pb2.RecommendRequest(
                    user_id=args.user, n=args.n,
                    exclude_item_ids=[i for i in args.exclude.split(",") if i],
                    include_seen=args.include_seen, exact=args.exact,
                    recent=interactions(pb2, recent),
                    filter=item_filter(pb2, args), explain=args.explain,
                    cold_items=args.cold_items)
                answer = stub.Recommend(request, timeout=timeout)
                if args.json:
                    return show(answer)
                print(f"Top {len(answer.items)} items for user {args.user} "
                      f"(model {answer.model_version})")
                if answer.fallback:
                    print("(fallback: popular items for an unknown user)")
                if answer.folded_in:
                    print("(folded in from recent interactions)")
                if answer.recent_unknown:
                    print(f"(skipped {answer.recent_unknown} recent "
                          "interactions with unknown items)")
                print_items(answer.items, "score", answer.fallback, True)
                print_explanations(answer.items)
            elif args.command == "similar":
                seeds = ([args.item] if args.item else []) + split_ids(
                    args.items)
                answer = stub.SimilarItems(
                    pb2.SimilarItemsRequest(
                        item_id=args.item, item_ids=split_ids(args.items),
                        k=args.k, filter=item_filter(pb2, args)),
                    timeout=timeout)
                if args.json:
                    return show(answer)
                noun = "item" if len(seeds) == 1 else "items"
                print(f"{len(answer.items)} items similar to {noun} "
                      f"{', '.join(seeds)} (model {answer.model_version})")
                print_items(answer.items, "similarity", False, False)
            elif args.command == "predict":
                answer = stub.PredictRating(
                    pb2.PredictRatingRequest(
                        user_id=args.user, item_id=args.item,
                        recent=interactions(pb2, recent)),
                    timeout=timeout)
                if args.json:
                    return show(answer)
                print(f"Predicted rating of item {args.item} for user "
                      f"{args.user}: {answer.rating:.2f} "
                      f"(model {answer.model_version})")
                if answer.fallback:
                    unknown = [w for w, known in (("user", answer.user_known),
                                                  ("item", answer.item_known))
                               if not known]
                    print(f"(fallback: unknown {' and '.join(unknown)})")
                if answer.folded_in:
                    print("(folded in from recent interactions)")
                if answer.item_cold:
                    print("(cold item: its factors were mapped from its "
                          "metadata)")
            elif args.command == "info":
                answer = stub.GetModelInfo(pb2.GetModelInfoRequest(),
                                           timeout=timeout)
                if args.json:
                    return show(answer)
                fields = json_format.MessageToDict(
                    answer, preserving_proto_field_name=True,
                    including_default_value_fields=True)
                metrics = fields.pop("metrics", {})
                fields["labels"] = ", ".join(fields.get("labels", [])) or "none"
                fields["feedback"] = fields.get("feedback") or "explicit"
                negative = set(fields.pop("negative_events", []))
                weights = fields.pop("event_weights", {})
                events = [f"{name}={weights[name]:g}" if name in weights
                          else name for name in sorted(set(weights) | negative)]
                events = [f"{e} (negative)" if e.split("=")[0] in negative
                          else e for e in events]
                if fields["feedback"] == "implicit":
                    fields["events"] = ", ".join(events) or "none"
                for name in ("retrieval_index", "similarity_index"):
                    fields[name] = ", ".join(
                        f"{k} {v}" for k, v in fields[name].items())
                rows = list(fields.items()) + [
                    (f"metrics/{k}", f"{metrics[k]:.6g}")
                    for k in sorted(metrics)]
                print(f"Model {answer.model_version}")
                width = max(len(k) for k, _ in rows)
                for key, value in rows:
                    print(f"  {key.ljust(width)}  {value}")
            elif args.command == "health":
                status = health_check(channel, args.service, timeout)
                if args.json:
                    print(json.dumps({"status": status}))
                else:
                    print(f"{args.server}: {status}")
                return 0 if status == "SERVING" else 1
        except grpc.RpcError as e:
            code, details = e.code(), e.details() or e.code().name
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                fail(1, f"no answer from {args.server} within "
                        f"{args.deadline:g}s")
            if code == grpc.StatusCode.UNAVAILABLE and (
                    "failed to connect" in details.lower()):
                fail(1, f"server not reachable at {args.server} ({details})")
            fail(1, details)
    return 0


if __name__ == "__main__":
    sys.exit(main())
