#!/usr/bin/python3
"""Writes the seed corpora in tests/fuzz/corpus/ (committed; rerun this after
changing a format). Every seed is made here, from our own generator and
trainer: no MovieLens data.

  /usr/bin/python3 tests/fuzz/make_corpus.py [--build build]
"""
import argparse
import json
import os
import pathlib
import struct
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent


def npy(descr, shape, payload, version=1):
    shape_text = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    prefix = 10 if version == 1 else 12
    pad = (64 - (prefix + len(header) + 1) % 64) % 64
    header = header + " " * pad + "\n"
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header.encode() + payload


def write(target, name, data):
    folder = HERE / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def ratings_seeds():
    # Control byte: format = c % 5 (auto, ml100k, dat, csv, generic),
    # 0x08 skip bad lines, (c >> 4) % 4 generic delimiter (",", tab, "::",
    # ";"), 0x40 generic columns "user=u,item=i,rating=r" (but see 0x80
    # below).
    def control(fmt, delimiter=0, flags=0x80):
        # The low three bits are free: pick them so that c % 5 == fmt.
        return bytes([next(c for c in range(flags | delimiter << 4, 256) if c % 5 == fmt)])

    write("rating_reader_fuzz", "ml100k", b"\x00" + b"196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n")
    write("rating_reader_fuzz", "dat", b"\x00" + b"1::1193::5::978300760\n1::661::3::978302109\n2::1193::4.5::978298413\n")
    write("rating_reader_fuzz", "csv_crlf_bom", b"\x03" + b"\xef\xbb\xbfuserId,movieId,rating,timestamp\r\n1,31,2.5,1260759144\r\n1,1029,3.0,1260759179\r\n")
    write("rating_reader_fuzz", "duplicates", b"\x00" + b"1\t2\t3\t100\n1\t2\t4\t200\n1\t2\t5\t150\n2\t2\t1\t1\n")
    write("rating_reader_fuzz", "bad_lines_skipped", control(0, 0, 0x08) + b"1\t2\t3\t100\n1\t2\t9\t100\nx\t2\t3\t1\n3\t4\t2.5\t7\n\n")
    write("rating_reader_fuzz", "generic_semicolon", control(4, 3, 0x40) + b"u;i;r\nalice;\"x;y\";4\nbob;z;0.5\n")
    write("rating_reader_fuzz", "generic_default_columns", b"\x04" + b"movieId,userId,rating,timestamp\n10,1,4,5\n11,1,3,6\n")
    # 0x80: implicit feedback with event weights (view=1, cart=4, buy=10,
    # skip=2; skip and "no" negative); with 0x40 the generic columns
    # "user=u,item=i,count=c,event=e,timestamp=t" (kAuto reads them as
    # implicit), else "user=u,item=i,rating=r,count=c" read as implicit.
    write("rating_reader_fuzz", "events_retail", control(4, 0, 0xC0) + b"u,i,c,e,t\na,x,1,view,1\na,x,2,cart,3\nb,x,1,skip,2\nb,x,1,view,1\na,y,1,buy,5\nb,x,3,no,2\n")
    write("rating_reader_fuzz", "events_tab_counts", control(4, 1) + b"u\ti\tr\tc\na\tx\t4\t13883\nb\tx\t1\t0.5\na\tx\t2\t1\n")
    write("rating_reader_fuzz", "events_ml100k_strengths", control(1) + b"1\t2\t3\t100\n1\t2\t4\t50\n2\t2\t1\t7\n")
    write("rating_reader_fuzz", "events_quoted_bom_crlf", control(4, 3, 0xC0) + b"\xef\xbb\xbf\"u\";\"i\";\"c\";\"e\";\"t\"\r\n7;\"p;1\";2;view;1\r\n7;\"p;1\";1;skip;2\r\n")
    write("rating_reader_fuzz", "events_bad_lines_skipped", control(4, 0, 0xC8) + b"u,i,c,e,t\na,x,0,view,1\na,x,1, ,2\na,x,inf,view,3\na,x,3e38,buy,4\nb,y,1,view,5\n")


def items_seeds():
    # Control byte: format = c % 4 (auto, uitem, dat, csv), 0x04 skip bad lines.
    flags = "|".join("1" if i in (3, 5) else "0" for i in range(19))
    write("item_reader_fuzz", "uitem", b"\x00" + ("1|Toy Story (1995)|01-Jan-1995||http://x|" + flags + "\n").encode() + ("2|Caf\xe9 (1996)|01-Jan-1996||http://y|" + flags + "\n").encode("latin-1"))
    write("item_reader_fuzz", "dat", b"\x00" + b"1::Toy Story (1995)::Animation|Children's|Comedy\n2::Jumanji (1995)::Adventure\n")
    write("item_reader_fuzz", "csv_quoted", b"\x00" + "movieId,title,genres\n1,\"American President, The (1995)\",Comedy|Drama|Romance\n2,Amélie (2001),(no genres listed)\r\n".encode())
    write("item_reader_fuzz", "bad_lines_skipped", b"\x06" + b"1::A (1990)::Drama\nx::B::Drama\n3::C (1991)\n")


def npy_seeds():
    # Control byte: rows expected = c & 0x0F, dtype (c >> 4) % 3 (f4, i4,
    # i8), 0x80 expects two axes.
    floats = struct.pack("<12f", *[i * 0.5 for i in range(12)])
    write("npy_fuzz", "float32_3x4", bytes([0x83]) + npy("<f4", (3, 4), floats))
    write("npy_fuzz", "int32_5", bytes([0x15]) + npy("<i4", (5,), struct.pack("<5i", 1, 2, 3, 4, 5)))
    write("npy_fuzz", "int64_2x2_v2", bytes([0xA2]) + npy("<i8", (2, 2), struct.pack("<4q", 1, -2, 3, -4), version=2))
    write("npy_fuzz", "empty_0x3", bytes([0x80]) + npy("<f4", (0, 3), b""))
    write("npy_fuzz", "scalar", bytes([0x00]) + npy("<f4", (), struct.pack("<f", 1.0)))


def implicit_manifest(m):
    # Format 4, implicit feedback: the retrieval model only, events.
    m["format_version"] = 4
    m["feedback"] = "implicit"
    m["factors"] = 0
    m["global_mean"] = 0.0
    m["rating_scale"] = {"min": 0.0, "max": 0.0, "step": 1.0}
    m["events"] = {"weights": {"view": 1.0, "cart": 3.0, "purchase": 5.0, "dislike": 2.0},
                   "negative": ["dislike"]}
    m["ranking"]["blend_weight"] = 1.0
    del m["fold_in"]["rating"]
    m["fold_in"]["retrieval"].update(scale="log", epsilon=1.0, reg_exponent=0.5)
    for name in ("user_factors.npy", "item_factors.npy", "user_bias.npy", "item_bias.npy"):
        m["files"].pop(name, None)
    return m


def recency_manifest(m):
    # Format 6: recency-weighted fold-in and the seen order.
    m = json.loads(json.dumps(m))
    m["format_version"] = 6
    m["cold_items"] = 0
    m["fold_in"]["retrieval"].update(recency_weight=100.0, recency_horizon=3.0)
    m["files"]["user_seen_later.npy"] = dict(m["files"]["user_seen_items.npy"])
    return m


def item_item_manifest(m):
    # Format 7: format 6 plus an item-item model over the leading items.
    m = json.loads(json.dumps(m))
    m["format_version"] = 7
    m["item_item"] = {"items": min(8, m["num_items"] - m["cold_items"]), "reg": 50.0,
                      "recency_weight": 2.0, "recency_horizon": 3.0}
    m["files"]["item_item.npy"] = dict(m["files"]["user_seen_items.npy"])
    return m


def ordinal_manifest(m):
    # Format 8: format 7 plus the rating model's ordinal output, a cutpoint
    # between each two values of the rating scale.
    m = json.loads(json.dumps(m))
    m["format_version"] = 8
    scale = m["rating_scale"]
    values = round((scale["max"] - scale["min"]) / scale["step"]) + 1
    m["ordinal_output"] = {"cutpoints": [scale["min"] + scale["step"] * (k + 0.5) for k in range(values - 1)],
                           "stddev": 0.375}
    return m


def snapshot_seeds(build):
    # Also the manifest seeds: a real trained snapshot (format 3: the trainer
    # records how to fold users in), a non-scaling prior variant, and its
    # format 2 and format 1 forms.
    with tempfile.TemporaryDirectory() as tmp:
        train = str(pathlib.Path(build) / "recserve-train")
        subprocess.run([train, "generate", "--users=40", "--items=30", "--ratings=500", "--seed=3",
                        "--out=" + tmp + "/r.csv"], check=True, capture_output=True)
        subprocess.run([train, "--ratings=" + tmp + "/r.csv", "--items=" + tmp + "/movies.csv",
                        "--algo=als", "--factors=4", "--implicit_factors=4", "--epochs=3",
                        "--implicit_iterations=2", "--eval_max_users=10", "--out=" + tmp + "/snap"],
                       check=True, capture_output=True)
        manifest = (pathlib.Path(tmp) / "snap" / "v000001" / "manifest.json").read_bytes()

    def dump(m):
        return json.dumps(m, indent=2, sort_keys=True).encode() + b"\n"

    m = json.loads(manifest)
    if m["format_version"] == 3:
        write("manifest_fuzz", "format3", manifest)
        # A BPMF-like prior: a non-zero mean, precisions not scaled by count.
        prior = json.loads(manifest)
        rating = prior["fold_in"]["rating"]
        rating["mean"] = [0.125 * (i - 2) for i in range(len(rating["mean"]))]
        rating["precision"] = [1.5 + i for i in range(len(rating["precision"]))]
        rating["scales_with_count"] = False
        write("manifest_fuzz", "format3_unscaled_prior", dump(prior))
        write("manifest_fuzz", "format4_implicit", dump(implicit_manifest(json.loads(manifest))))
        explicit4 = json.loads(manifest)
        explicit4["format_version"] = 4
        explicit4["feedback"] = "explicit"
        explicit4["fold_in"]["retrieval"].update(scale="log", epsilon=10.0, reg_exponent=0.5)
        write("manifest_fuzz", "format4_explicit_log", dump(explicit4))
        write("manifest_fuzz", "format6_recency", dump(recency_manifest(explicit4)))
        write("manifest_fuzz", "format7_item_item",
              dump(item_item_manifest(recency_manifest(explicit4))))
        write("manifest_fuzz", "format8_ordinal",
              dump(ordinal_manifest(item_item_manifest(recency_manifest(explicit4)))))
    m["format_version"] = 2
    m.pop("fold_in", None)
    for name in ("user_seen_ratings.npy", "item_labels.txt"):
        m["files"].pop(name, None)
    write("manifest_fuzz", "format2", dump(m))
    m["format_version"] = 1
    for key in ("retrieval", "ranking"):
        m.pop(key, None)
    for name in ("user_embeddings.npy", "item_embeddings.npy"):
        m["files"].pop(name, None)
    write("manifest_fuzz", "format1", dump(m))

    snapshot_folder_seeds()


def snapshot_folder_seeds():
    # snapshot_folder_fuzz edits fuzz_support's tiny snapshot with fold-in
    # and recency, plus the fuzzer's item-item model over its first 8 items
    # (format 7); files in name order, LATEST last. This list must match the
    # files of that template (core/snapshot/snapshot.h): a new file shifts
    # the indices. Record: file, mode, offset lo, offset hi, length, payload
    # (see snapshot_folder_fuzz.cc).
    files = ["item_bias.npy", "item_embeddings.npy", "item_factors.npy", "item_genres.txt",
             "item_ids.txt", "item_item.npy", "item_popularity.npy", "item_titles.txt",
             "manifest.json", "user_bias.npy", "user_embeddings.npy", "user_factors.npy",
             "user_ids.txt", "user_seen_items.npy", "user_seen_later.npy", "user_seen_offsets.npy",
             "user_seen_ratings.npy"]
    latest = len(files)

    def record(name, mode, offset, payload=b""):
        index = latest if name == "LATEST" else files.index(name)
        return bytes([index, mode, offset & 0xFF, offset >> 8, len(payload)]) + payload

    keep = 0x80
    write("snapshot_folder_fuzz", "unchanged", b"")
    write("snapshot_folder_fuzz", "nan_in_factors_manifest_updated", record("user_factors.npy", keep, 128, struct.pack("<f", float("nan"))))
    write("snapshot_folder_fuzz", "inf_in_embeddings_manifest_updated", record("item_embeddings.npy", keep, 132, struct.pack("<f", float("inf"))))
    write("snapshot_folder_fuzz", "flipped_byte", record("item_factors.npy", 0, 140, b"\xff"))
    write("snapshot_folder_fuzz", "truncated", record("user_bias.npy", 1, 130))
    write("snapshot_folder_fuzz", "truncated_manifest_updated", record("user_bias.npy", 1 | keep, 130))
    write("snapshot_folder_fuzz", "shape_in_header", record("item_bias.npy", keep, 60, b"(11,)"))
    write("snapshot_folder_fuzz", "dtype_in_header", record("user_bias.npy", keep, 21, b"<f8"))
    write("snapshot_folder_fuzz", "duplicate_user_id", record("user_ids.txt", keep, 0, b"u1\nu1\n"))
    write("snapshot_folder_fuzz", "missing_file", record("item_titles.txt", 0x40, 0))
    write("snapshot_folder_fuzz", "latest_missing_version", record("LATEST", 2, 0, b"v000009\n"))
    write("snapshot_folder_fuzz", "manifest_count_lies", record("manifest.json", 0, 0, b"{\"num_users\": 8,"))
    write("snapshot_folder_fuzz", "seen_out_of_range", record("user_seen_items.npy", keep, 128, struct.pack("<i", 99)))
    write("snapshot_folder_fuzz", "two_edits", record("user_factors.npy", keep, 200, b"\x00\x00\x80\x7f") + record("item_popularity.npy", keep, 128, struct.pack("<i", -5)))
    write("snapshot_folder_fuzz", "without_seen_ratings", record("user_seen_ratings.npy", 0x40, 0))
    write("snapshot_folder_fuzz", "seen_later_out_of_range", record("user_seen_later.npy", keep, 128, struct.pack("<i", 7)))
    # The item-item model: item_item.npy is float32 8 x 8 after a 128-byte
    # header whose shape text starts at offset 60.
    write("snapshot_folder_fuzz", "item_item_nan_manifest_updated", record("item_item.npy", keep, 128 + 4 * 9, struct.pack("<f", float("nan"))))
    write("snapshot_folder_fuzz", "item_item_beyond_1e6_manifest_updated", record("item_item.npy", keep, 128 + 4 * 3, struct.pack("<f", 2e6)))
    write("snapshot_folder_fuzz", "item_item_shape_in_header", record("item_item.npy", keep, 60, b"(8, 9)"))
    write("snapshot_folder_fuzz", "item_item_truncated_manifest_updated", record("item_item.npy", 1 | keep, 200))
    write("snapshot_folder_fuzz", "item_item_missing", record("item_item.npy", 0x40, 0))
    # Edits of the template's manifest.json at the offsets of its values
    # (keys sorted, pretty-printed: "format_version": 7 and then
    # "item_item": {"items": 8, "recency_horizon": 3.0, "recency_weight":
    # 2.0, "reg": 50.0}).
    version_digit = 1968
    items_digit = 2024
    horizon_value = 2050
    weight_value = 2077
    reg_value = 2093
    write("snapshot_folder_fuzz", "format6_with_item_item", record("manifest.json", 0, version_digit, b"6"))
    write("snapshot_folder_fuzz", "format5_with_recency", record("manifest.json", 0, version_digit, b"5"))
    write("snapshot_folder_fuzz", "format2_with_fold_in", record("manifest.json", 0, version_digit, b"2"))
    write("snapshot_folder_fuzz", "item_item_items_beyond_file", record("manifest.json", 0, items_digit, b"9"))
    write("snapshot_folder_fuzz", "item_item_items_beyond_catalog", record("manifest.json", 3, items_digit, b"1"))
    write("snapshot_folder_fuzz", "item_item_zero_items", record("manifest.json", 0, items_digit, b"0"))
    write("snapshot_folder_fuzz", "item_item_zero_horizon", record("manifest.json", 0, horizon_value, b"0"))
    write("snapshot_folder_fuzz", "item_item_negative_weight", record("manifest.json", 3, weight_value, b"-"))
    write("snapshot_folder_fuzz", "item_item_zero_reg", record("manifest.json", 0, reg_value, b" 0"))
    write("snapshot_folder_fuzz", "item_item_renamed_key", record("manifest.json", 0, items_digit - 8, b"x"))


def request_seeds(build):
    sys.path.insert(0, str(pathlib.Path(build) / "python"))
    from recserve.v1 import recommender_pb2 as pb  # noqa: E402
    # First byte: RPC = c % 4 (Recommend, SimilarItems, PredictRating,
    # GetModelInfo), snapshot = (c / 4) % 2 (0 ratings, 1 events); tiny
    # snapshot ids u0..u6, warm items i0..i9 and cold items i10..i14
    # (fuzz_support.h AppendColdItems: i10, i12 and i14 labelled Comedy and
    # Romance, i11 and i13 "New").
    seeds = {
        "recommend": (0, pb.RecommendRequest(user_id="u1", n=3)),
        "recommend_exclusions_seen": (0, pb.RecommendRequest(user_id="u2", n=10, exclude_item_ids=["i1", "i2", "nope"], include_seen=True)),
        "recommend_exact_candidates_ef": (0, pb.RecommendRequest(user_id="u3", n=5, exact=True, candidates=7, ef=20)),
        "recommend_unknown_user": (0, pb.RecommendRequest(user_id="stranger", n=2)),
        "recommend_bad_n": (0, pb.RecommendRequest(user_id="u1", n=-1)),
        "similar": (1, pb.SimilarItemsRequest(item_id="i4", k=3)),
        "similar_unknown": (1, pb.SimilarItemsRequest(item_id="zzz", k=3)),
        "predict": (2, pb.PredictRatingRequest(user_id="u0", item_id="i0")),
        "predict_unknown_both": (2, pb.PredictRatingRequest(user_id="x", item_id="y")),
        "model_info": (3, pb.GetModelInfoRequest()),
        # Request-time personalization: the tiny snapshot folds in, and its
        # even items carry the labels Comedy and Romance.
        "recommend_recent_filter_explain": (0, pb.RecommendRequest(
            user_id="stranger", n=4, explain=True,
            recent=[pb.Interaction(item_id="i1", rating=5), pb.Interaction(item_id="i3"),
                    pb.Interaction(item_id="i5", rating=2, weight=3), pb.Interaction(item_id="nope")],
            filter=pb.ItemFilter(include_labels=["Comedy"], exclude_labels=["Romance"], item_ids=["i2", "i4", "i7"]))),
        "recommend_known_user_recent": (0, pb.RecommendRequest(
            user_id="u2", n=5, exact=True, recent=[pb.Interaction(item_id="i8", rating=4)],
            filter=pb.ItemFilter(include_labels=["Romance"]))),
        "recommend_bad_recent": (0, pb.RecommendRequest(
            user_id="u1", n=3, recent=[pb.Interaction(item_id="i1", rating=float("nan"), weight=-1)],
            filter=pb.ItemFilter(include_labels=["no-such-label"]))),
        "similar_seeds_filter": (1, pb.SimilarItemsRequest(
            item_id="i4", item_ids=["i1", "i6", "zzz"], k=3, filter=pb.ItemFilter(exclude_labels=["Comedy"]))),
        "predict_recent": (2, pb.PredictRatingRequest(
            user_id="stranger", item_id="i2", recent=[pb.Interaction(item_id="i1", rating=5, weight=2),
                                                      pb.Interaction(item_id="i9", rating=1)])),
        # The implicit-feedback snapshot (first byte 4..7): users u0..u6,
        # items i0..i11, events view, cart, purchase and the negative
        # dislike; no ratings, PredictRating FAILED_PRECONDITION; cold items
        # i12..i16 (labels g0, g1 + New, g2, g0 + New, g1).
        "implicit_recommend": (4, pb.RecommendRequest(user_id="u1", n=3)),
        "implicit_recommend_events": (4, pb.RecommendRequest(
            user_id="stranger", n=4, explain=True,
            recent=[pb.Interaction(item_id="i1", event="purchase", weight=2), pb.Interaction(item_id="i4"),
                    pb.Interaction(item_id="i7", event="dislike"), pb.Interaction(item_id="nope", event="view")])),
        "implicit_recommend_bad_event": (4, pb.RecommendRequest(
            user_id="u2", n=3, recent=[pb.Interaction(item_id="i1", event="teleport"),
                                       pb.Interaction(item_id="i2", rating=4)])),
        "implicit_similar": (5, pb.SimilarItemsRequest(item_id="i4", k=3)),
        "implicit_predict": (6, pb.PredictRatingRequest(user_id="u0", item_id="i0")),
        "implicit_model_info": (7, pb.GetModelInfoRequest()),
        "recommend_event_on_ratings": (0, pb.RecommendRequest(
            user_id="u1", n=3, recent=[pb.Interaction(item_id="i1", event="view")])),
        # Slots reserved for cold items: within n, beyond n, negative, and
        # for an unknown user (popularity fallback) and implicit feedback.
        "recommend_cold_items": (0, pb.RecommendRequest(
            user_id="u1", n=4, cold_items=2, filter=pb.ItemFilter(include_labels=["Comedy"]))),
        "recommend_cold_items_bad": (0, pb.RecommendRequest(user_id="u1", n=2, cold_items=3)),
        "recommend_cold_items_negative": (0, pb.RecommendRequest(user_id="u1", n=2, cold_items=-1)),
        "recommend_cold_items_fallback": (0, pb.RecommendRequest(user_id="stranger", n=3, cold_items=3)),
        "implicit_recommend_cold_items": (4, pb.RecommendRequest(user_id="u2", n=3, cold_items=1)),
        # Cold items by id: as recent interactions, exclusions, filter ids,
        # seeds and PredictRating's item, on both snapshots.
        "recommend_cold_items_filter_new": (0, pb.RecommendRequest(
            user_id="u1", n=5, cold_items=2, filter=pb.ItemFilter(include_labels=["New"]))),
        "recommend_cold_recent_exclusions": (0, pb.RecommendRequest(
            user_id="stranger", n=4, cold_items=4, explain=True, exclude_item_ids=["i10"],
            recent=[pb.Interaction(item_id="i11", rating=5), pb.Interaction(item_id="i13", rating=1),
                    pb.Interaction(item_id="i2")])),
        "recommend_cold_filter_ids_seen": (0, pb.RecommendRequest(
            user_id="u3", n=3, cold_items=2, include_seen=True, recent=[pb.Interaction(item_id="i14", rating=3)],
            filter=pb.ItemFilter(item_ids=["i14", "i13", "i1", "i99"]))),
        "recommend_cold_fallback_filter": (0, pb.RecommendRequest(
            user_id="stranger", n=4, cold_items=4, filter=pb.ItemFilter(include_labels=["Romance"]))),
        "similar_cold_seed": (1, pb.SimilarItemsRequest(item_id="i12", k=5)),
        "similar_cold_seeds_filter": (1, pb.SimilarItemsRequest(
            item_id="i11", item_ids=["i13", "i4"], k=4, filter=pb.ItemFilter(exclude_labels=["Romance"]))),
        "predict_cold": (2, pb.PredictRatingRequest(user_id="u2", item_id="i13")),
        "predict_cold_recent": (2, pb.PredictRatingRequest(
            user_id="stranger", item_id="i10", recent=[pb.Interaction(item_id="i11", rating=4),
                                                       pb.Interaction(item_id="i14", rating=2)])),
        "implicit_recommend_cold_events": (4, pb.RecommendRequest(
            user_id="stranger", n=4, cold_items=2,
            recent=[pb.Interaction(item_id="i13", event="purchase"), pb.Interaction(item_id="i15", event="dislike"),
                    pb.Interaction(item_id="i1", event="view")],
            filter=pb.ItemFilter(include_labels=["g1", "New"]))),
        "implicit_recommend_cold_fallback": (4, pb.RecommendRequest(
            user_id="stranger", n=3, cold_items=2, filter=pb.ItemFilter(exclude_labels=["New"]))),
        "implicit_similar_cold": (5, pb.SimilarItemsRequest(item_id="i16", item_ids=["i12"], k=4)),
        "implicit_predict_cold": (6, pb.PredictRatingRequest(user_id="u0", item_id="i14")),
    }
    for name, (rpc, message) in seeds.items():
        write("request_handler_fuzz", name, bytes([rpc]) + message.SerializeToString())


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", default=str(HERE.parent.parent / "build"))
    args = parser.parse_args()
    ratings_seeds()
    items_seeds()
    npy_seeds()
    snapshot_seeds(args.build)
    request_seeds(args.build)


if __name__ == "__main__":
    main()
