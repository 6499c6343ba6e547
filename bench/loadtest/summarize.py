#!/usr/bin/env python3
"""Turn the raw per-round CSV written by run.sh into results.md.

    python3 summarize.py RAW.csv META.txt OUT.md

META.txt holds 'key=value' lines for the header (written by run.sh) and
'note=...' lines listed under "Notes". Stdlib only.
"""
import csv
import statistics
import sys

TARGET_ORDER = ["direct", "fastproxy", "haproxy", "haproxy-splice", "haproxy-splice-force", "nginx"]
TARGET_NAMES = {
    "direct": "direct",
    "fastproxy": "FastProxy",
    "haproxy": "HAProxy",
    "haproxy-splice": "HAProxy+splice",
    "haproxy-splice-force": "HAProxy+splice (forced)",
    "nginx": "nginx stream",
}
# (scenario, metric, label, higher_is_better, format)
METRICS = [
    ("ka50", "rps", "keep-alive, 50 conns: req/s", True, "{:,.0f}"),
    ("ka50", "p50_ms", "keep-alive, 50 conns: p50 latency ms", False, "{:.3f}"),
    ("ka50", "p99_ms", "keep-alive, 50 conns: p99 latency ms", False, "{:.3f}"),
    ("ka200", "rps", "keep-alive, 200 conns: req/s", True, "{:,.0f}"),
    ("ka200", "p50_ms", "keep-alive, 200 conns: p50 latency ms", False, "{:.3f}"),
    ("ka200", "p99_ms", "keep-alive, 200 conns: p99 latency ms", False, "{:.3f}"),
    ("close", "cps", "new connection per request: conn/s", True, "{:,.0f}"),
    ("close", "p99_ms", "new connection per request: p99 latency ms", False, "{:.3f}"),
    ("bulk1", "gbps", "iperf3, 1 stream: Gbit/s", True, "{:.2f}"),
    ("bulk4", "gbps", "iperf3, 4 streams: Gbit/s", True, "{:.2f}"),
    ("bulk1", "spliced_gib", "iperf3, 1 stream: GiB spliced by HAProxy", True, "{:.2f}"),
    ("bulk4", "spliced_gib", "iperf3, 4 streams: GiB spliced by HAProxy", True, "{:.2f}"),
    ("mem", "rss_idle_mib", "RSS idle: MiB", False, "{:.1f}"),
    ("mem", "rss_with_mib", "RSS with idle conns: MiB", False, "{:.1f}"),
    ("mem", "kib_per_conn", "memory per idle connection: KiB", False, "{:.2f}"),
]


def fmt(f, v):
    return "–" if v is None else f.format(v)


def ratio(v, ref):
    if v is None or ref is None or ref == 0:
        return "–"
    return f"{v / ref:.2f}×"


def main():
    raw, meta_path, out = sys.argv[1:4]
    meta, notes, params = [], [], {}
    with open(meta_path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or "=" not in line:
                continue
            k, v = line.split("=", 1)
            if k == "note":
                notes.append(v)
            elif k.startswith("_"):
                params[k[1:]] = v
            else:
                meta.append((k, v))

    values, cpu, errors, failures, disturbed = {}, {}, {}, [], {}
    with open(raw) as f:
        for row in csv.DictReader(f):
            key = (row["target"], row["scenario"], row["metric"])
            if row["value"] == "":
                failures.append(row)
                continue
            values.setdefault(key, []).append(float(row["value"]))
            for col in ("proxy_cpu_pct", "proxy_cores_busy_pct", "load_cores_busy_pct"):
                if row.get(col):
                    cpu.setdefault((row["target"], row["scenario"], col), {})[row["round"]] = float(row[col])
            other = row.get("other_load_pct") or ""
            if other and float(other) > float(params.get("disturb_limit", 10)):
                disturbed.setdefault((row["target"], row["scenario"], row["round"]), other)
            if row["errors"] not in ("", "0"):
                errors.setdefault((row["target"], row["scenario"], row["round"]), row["errors"])

    seen = {k[0] for k in values}
    variants = sorted(t for t in seen if t.startswith("fastproxy-"))
    for t in variants:
        TARGET_NAMES[t] = f"FastProxy ({t[len('fastproxy-'):]})"
    order = TARGET_ORDER[:2] + variants + TARGET_ORDER[2:]
    targets = [t for t in order if t in seen]
    targets += sorted({k[0] for k in values} - set(targets))
    med = {k: statistics.median(v) for k, v in values.items()}

    lines = ["# FastProxy L4 load bench: results", ""]
    for k, v in meta:
        lines.append(f"- **{k}**: {v}")
    lines += ["", "## Medians over rounds", ""]
    lines.append("| metric | " + " | ".join(TARGET_NAMES.get(t, t) for t in targets) + " |")
    lines.append("|---|" + "---:|" * len(targets))
    for sc, m, label, _, f in METRICS:
        if not any((t, sc, m) in med for t in targets):
            continue
        cells = [fmt(f, med.get((t, sc, m))) for t in targets]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    lines += ["", "## Per metric, with ratios", "",
              "Ratio = this target's median / the reference's median. "
              "Higher is better for req/s, conn/s and Gbit/s; lower is better for latency and memory. "
              "CPU columns (medians over rounds): *proxy CPU* = user+sys time of the proxy process(es) in % of "
              "one core; *proxy cores* / *load cores* = how busy the proxy's CPU set and the CPU set of "
              "backends + load generators were (from /proc/stat, includes softirq network processing). "
              "A load-cores value near 100 % means the client side, not the proxy, was the limit.", "",
              "| scenario / metric | target | median | min | max | rounds | vs direct | vs HAProxy "
              "| proxy CPU % | proxy cores busy % | load cores busy % |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for sc, m, label, _, f in METRICS:
        for t in targets:
            v = values.get((t, sc, m))
            if not v:
                continue
            cpu_s = " | ".join(
                f"{statistics.median(c.values()):.0f}" if (c := cpu.get((t, sc, col))) else "–"
                for col in ("proxy_cpu_pct", "proxy_cores_busy_pct", "load_cores_busy_pct"))
            lines.append(
                f"| {label} | {TARGET_NAMES.get(t, t)} | {fmt(f, med[(t, sc, m)])} | {fmt(f, min(v))} | "
                f"{fmt(f, max(v))} | {len(v)} | {ratio(med[(t, sc, m)], med.get(('direct', sc, m)))} | "
                f"{ratio(med[(t, sc, m)], med.get(('haproxy', sc, m)))} | {cpu_s} |")

    lines += ["", "## Notes", ""]
    for n in notes:
        lines.append(f"- {n}")
    for (t, sc, r), e in sorted(errors.items()):
        lines.append(f"- round {r}, {TARGET_NAMES.get(t, t)}, {sc}: {e} errors (wrk socket errors + non-2xx)")
    for (t, sc, r), o in sorted(disturbed.items()):
        lines.append(f"- round {r}, {TARGET_NAMES.get(t, t)}, {sc}: processes outside the bench used {o} % of the "
                     "machine's CPU during the run (disturbed measurement, kept after the allowed repeats)")
    seen = set()
    for row in failures:
        k = (row["round"], row["target"], row["scenario"])
        if k in seen:
            continue
        seen.add(k)
        lines.append(f"- round {row['round']}, {TARGET_NAMES.get(row['target'], row['target'])}, "
                     f"{row['scenario']}: FAILED ({row['note']})")
    if not notes and not errors and not failures and not disturbed:
        lines.append("- no errors, no failed runs")
    lines.append("")
    with open(out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
