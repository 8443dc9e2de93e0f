"""Composes the benchmark suite's report (tests/bench/run.sh) from the parts
it finds in OUT: training.json and training.md (training_report.py),
serving_<catalog>.json (Google Benchmark output of serving_bench),
server_start.json (server_start.py), add_items.json (add_items_bench) and
grpc.json (grpc_loopback.py). Writes OUT/report.md and OUT/report.json, with
each target and whether it is met.

usage: report.py OUT
"""
import json
import os
import sys

# Part name -> label; the item count is added from the measurement.
CATALOGS = [("movielens", "generated (MovieLens scale)"),
            ("100k", "generated"),
            ("1m", "generated"),
            ("1m_equal", "generated, equal norms"),
            ("1m_flat", "generated, flat norms"),
            ("trained", "trained by recserve-train")]


def load(path):
    return json.load(open(path)) if os.path.exists(path) else None


def serving_rows(bench):
    """name -> the benchmark's fields, by run name without the suffixes."""
    rows = {}
    for b in bench["benchmarks"]:
        rows[b["run_name"].split("/min_time")[0].split("/iterations")[0]
             .split("/real_time")[0]] = b
    return rows


def serving_summary(rows):
    setup = rows.get("BM_Setup", {})
    rec = rows.get("BM_RecommendHnsw", {})
    exact = rows.get("BM_RecommendExact", {})
    sim = rows.get("BM_SimilarItems", {})
    sim_exact = rows.get("BM_SimilarItemsExact", {})
    pred = rows.get("BM_PredictRating", {})
    out = {
        "items": setup.get("items"), "dims": setup.get("dims"),
        "recommend": {"p50_us": rec.get("p50_us"), "p99_us": rec.get("p99_us"),
                      "recall_at_10": rec.get("recall_at_10"),
                      "scan_settled": rec.get("scan_settled"),
                      "exact_p50_us": exact.get("p50_us")},
        "similar_items": {"p50_us": sim.get("p50_us"), "p99_us": sim.get("p99_us"),
                          "recall_at_10": sim.get("recall_at_10"),
                          "exact_p50_us": sim_exact.get("p50_us")},
        "predict_rating": {"p50_us": pred.get("p50_us"), "p99_us": pred.get("p99_us")},
        "index_build_s": setup.get("index_build_s"),
        "load_without_saved_index_s": setup.get("first_load_s"),
        "load_with_saved_index_s": setup.get("second_load_s"),
        "serving_rss_mb": setup.get("serving_rss_mb"),
        "rss_mb_per_million_items": setup.get("rss_mb_per_million_items"),
    }
    r = out["recommend"]
    if r["p50_us"] and r["exact_p50_us"]:
        r["speedup_vs_exact"] = r["exact_p50_us"] / r["p50_us"]
    return out


def fmt(x, spec=".3g"):
    return "–" if x is None else format(x, spec)


def main():
    out_dir = sys.argv[1]
    report = {"targets": []}
    md = ["# recserve benchmark report", ""]
    context = load(f"{out_dir}/context.json")
    if context:
        report["context"] = context
        md += [f"Measured {context['date']} at commit {context['commit']}"
               f"{' (with local changes)' if context['dirty'] else ''} on {context['cpus']} "
               f"CPUs ({context['cpu']}), one run: client and server share the machine, so "
               "gRPC figures move by ±15% between runs.", ""]

    training = load(f"{out_dir}/training.json")
    if training:
        report["training"] = training
        if os.path.exists(f"{out_dir}/training.md"):
            md += open(f"{out_dir}/training.md").read().replace(
                "# Training throughput", "## Training throughput").splitlines()
            md.append("")
        target = training.get("pipeline", {}).get("target")
        if target and target.get("full_size") and target.get("checks"):
            failed = [c["figure"] for c in target["checks"] if not c["met"]]
            report["targets"].append({
                "target": "Default training pipeline on 20M ratings: <= 60 s wall, <= 1.5 GB "
                          "peak, test RMSE within 1% of the baseline's --algo als and every "
                          "two-stage top-N figure at least as good",
                "measured": ", ".join(
                    f"{c['figure']} {fmt(c['measured'], '.4g')}" for c in target["checks"]
                    if c["figure"] in ("wall_seconds", "peak_rss_mb", "test_rmse")) +
                    ("" if target.get("quality_compared") else " (no baseline: quality not "
                     "compared)") + (f"; not met: {', '.join(failed)}" if failed else ""),
                "met": bool(target["met"])})

    serving = {}
    for name, _ in CATALOGS:
        bench = load(f"{out_dir}/serving_{name}.json")
        if bench:
            serving[name] = serving_summary(serving_rows(bench))
    if serving:
        report["serving"] = serving
        md += ["## Serving in process (no gRPC), default settings", "",
               "| catalog | Recommend p50 / p99 µs | recall@10 | exact p50 µs | speed-up | "
               "scan alone | SimilarItems p50 / p99 µs | recall@10 | exact p50 µs | "
               "PredictRating p50 / p99 µs | index build s | load s (saved index / none) | "
               "resident MB |",
               "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for name, label in CATALOGS:
            if name not in serving:
                continue
            s = serving[name]
            r, si, p = s["recommend"], s["similar_items"], s["predict_rating"]
            md.append(
                f"| {label}, {fmt(s['items'], ',.0f')} items × {fmt(s['dims'], '.0f')} | "
                f"{fmt(r['p50_us'], '.0f')} / {fmt(r['p99_us'], '.0f')} | "
                f"{fmt(r['recall_at_10'], '.3f')} | {fmt(r['exact_p50_us'], '.0f')} | "
                f"{fmt(r.get('speedup_vs_exact'), '.1f')}× | {fmt(r['scan_settled'], '.0%')} | "
                f"{fmt(si['p50_us'], '.0f')} / {fmt(si['p99_us'], '.0f')} | "
                f"{fmt(si['recall_at_10'], '.3f')} | {fmt(si['exact_p50_us'], '.0f')} | "
                f"{fmt(p['p50_us'], '.1f')} / {fmt(p['p99_us'], '.1f')} | "
                f"{fmt(s['index_build_s'], '.1f')} | {fmt(s['load_with_saved_index_s'], '.2f')} / "
                f"{fmt(s['load_without_saved_index_s'], '.1f')} | "
                f"{fmt(s['serving_rss_mb'], '.0f')} |")
        md.append("")
        md += ["Generated catalogs: embeddings mixing a few of 32 shared directions, norms "
               "lognormal with σ 1.8 as trained ones spread, except 'equal norms' (all 1, where "
               "inner product ranks as cosine does, like the isotropic data HNSW is usually "
               "measured on) and 'flat norms' (σ 0.5), the hard case for retrieval: spread enough "
               "that the longest items dominate an inner-product graph, too little for the "
               "norm-ordered scan to stop early. Resident MB: what loading the snapshot added to the process "
               "(mapped files, both indexes, the scan's copy)."]
        md.append("")
        one_m = serving.get("1m")
        if one_m and (one_m["items"] or 0) >= 1_000_000:
            r = one_m["recommend"]
            report["targets"].append({
                "target": "Recommend at 1M items: recall@10 >= 0.98 and >= 30x faster than exact",
                "measured": f"recall {fmt(r['recall_at_10'], '.3f')}, "
                            f"{fmt(r.get('speedup_vs_exact'), '.1f')}x",
                "met": bool(r["recall_at_10"] and r["recall_at_10"] >= 0.98 and
                            r.get("speedup_vs_exact", 0) >= 30)})
            load_s = one_m["load_with_saved_index_s"]
            start = load(f"{out_dir}/server_start.json")
            if start:
                report["server_start"] = start
                md += [f"recserve-server from exec to answering SERVING on the 1M-item snapshot, "
                       f"its indexes saved beside it: median {start['serving_s_median']:.2f} s "
                       f"over {len(start['runs'])} starts (listening after "
                       f"{start['listening_s_median']:.2f} s), resident "
                       f"{start['resident_mb_median']:.0f} MB once serving.", ""]
                serving_s = start["serving_s_median"]
                report["targets"].append({
                    "target": "1M-item snapshot loaded and serving in <= 10 s with a saved index",
                    "measured": f"{serving_s:.2f} s from exec to SERVING "
                                f"(in process: {fmt(load_s, '.2f')} s)",
                    "met": serving_s <= 10})
            else:
                report["targets"].append({
                    "target": "1M-item snapshot loaded with a saved index in <= 10 s",
                    "measured": f"{fmt(load_s, '.2f')} s in process",
                    "met": bool(load_s and load_s <= 10)})

    grpc = load(f"{out_dir}/grpc.json")
    if grpc:
        report["grpc"] = grpc
        md += ["## Through gRPC on loopback (demo data: 3,700 items)", "",
               "Each RPC's highest sustainable throughput (an open loop at that rate is served "
               "in full, p99 < 50 ms), the closed-loop maximum (64 calls in flight over 2 "
               "connections), the ratio of the sustainable rate to the health check's in the same "
               "run, and p50/p99 in an open loop at 50% and 80% of it (latency from each call's "
               "intended start). Client and server share the machine's 2 cores.", "",
               "| RPC | sustainable calls/s | closed loop calls/s | ratio to health | "
               "p50 / p99 ms at 50% | p50 / p99 ms at 80% | failed |",
               "|---|---|---|---|---|---|---|"]
        for method, e in grpc["methods"].items():
            failed = (e["closed_loop"]["failed"] + e["at_50pct"]["failed"] +
                      e["at_80pct"]["failed"])
            md.append(
                f"| {method} | {e['max']['rps']:.0f} | {e['closed_loop']['rps']:.0f} | "
                f"{e['ratio_to_health']:.2f} | "
                f"{fmt(e['at_50pct']['p50_ms'], '.2f')} / {fmt(e['at_50pct']['p99_ms'], '.2f')} | "
                f"{fmt(e['at_80pct']['p50_ms'], '.2f')} / {fmt(e['at_80pct']['p99_ms'], '.2f')} | "
                f"{failed} |")
        m = grpc["methods"]
        report["targets"] += [
            {"target": "PredictRating throughput >= 70% of the health check's",
             "measured": f"{m['predict']['ratio_to_health']:.0%}",
             "met": m["predict"]["ratio_to_health"] >= 0.7},
            {"target": "Recommend (n = 10, MovieLens scale) >= 50% of the health check's",
             "measured": f"{m['recommend']['ratio_to_health']:.0%}",
             "met": m["recommend"]["ratio_to_health"] >= 0.5},
            {"target": "p99 at 50% of the maximum rate <= 2 ms for every RPC",
             "measured": ", ".join(f"{k} {e['at_50pct']['p99_ms']:.2f} ms" for k, e in m.items()),
             "met": all(e["at_50pct"]["p99_ms"] <= 2.0 for e in m.values())}]
        rl = grpc.get("reload")
        if rl:
            md += ["", f"Hot reload under load (Recommend, closed loop): version {rl['version']} "
                   f"{'loaded' if rl['loaded'] else 'NOT loaded'} {rl['published_at_s']:.1f} s in; "
                   f"steady {rl['steady_rps']:.0f}/s, lowest 1-s window around the swap "
                   f"{rl['lowest_1s_rps_around_swap']:.0f}/s; {rl['failed']} failed calls."]
            report["targets"].append({
                "target": "Hot reload under load: no failed call, throughput down <= 10%",
                "measured": f"{rl['failed']} failed, drop {fmt(rl['drop'], '.1%')}",
                "met": bool(rl["loaded"] and rl["failed"] == 0 and rl["drop"] is not None and
                            rl["drop"] <= 0.10)})
        md.append("")

    add_items = load(f"{out_dir}/add_items.json")
    if add_items and add_items.get("benchmarks"):
        b = add_items["benchmarks"][0]
        row = {k: b.get(k) for k in ("base_items", "added", "add_items_seconds",
                                     "index_update_seconds", "base_index_build_seconds")}
        report["add_items"] = row
        md += ["## add-items (new items into a published snapshot, no retraining)", "",
               "| base items | added | add-items s | of which index update s | "
               "building the base indexes s |", "|---|---|---|---|---|",
               f"| {fmt(row['base_items'], ',.0f')} | {fmt(row['added'], ',.0f')} | "
               f"{fmt(row['add_items_seconds'], '.2f')} | "
               f"{fmt(row['index_update_seconds'], '.2f')} | "
               f"{fmt(row['base_index_build_seconds'], '.0f')} |", ""]
        if (row["base_items"] or 0) >= 1_000_000:
            report["targets"].append({
                "target": "add-items of 1,000 items into a 1M-item snapshot: seconds",
                "measured": f"{fmt(row['add_items_seconds'], '.1f')} s "
                            f"(index update {fmt(row['index_update_seconds'], '.1f')} s)",
                "met": bool(row["add_items_seconds"] is not None and
                            row["add_items_seconds"] < 60)})

    md += ["## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for t in report["targets"]:
        md.append(f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else 'NO'} |")
    open(f"{out_dir}/report.md", "w").write("\n".join(md) + "\n")
    json.dump(report, open(f"{out_dir}/report.json", "w"), indent=2)
    print("\n".join(md))


if __name__ == "__main__":
    main()
