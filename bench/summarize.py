#!/usr/bin/env python3
"""Prints a side-by-side table of every benchmark in bench/results/*.json."""
import json
import pathlib
import sys

results = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results")
rows = []
def load(path):
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}  # an interrupted run


for path in sorted(results.glob("bench_*.json")):
    data = load(path)
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        extra = []
        if "items_per_second" in b:
            extra.append(f"{b['items_per_second']:,.0f} items/s")
        for key in ("p50_us", "p99_us"):
            if key in b:
                extra.append(f"{key}={b[key]:.2f}")
        rows.append((path.stem, b["name"], f"{b['real_time']:.3g} {b['time_unit']}", ", ".join(extra)))
width = max((len(r[1]) for r in rows), default=10)
for binary, name, t, extra in rows:
    print(f"{binary:18} {name:{width}}  {t:>14}  {extra}")

# The comparisons the issues ask for, from the same run.
by_name = {}
for path in sorted(results.glob("bench_*.json")):
    for b in load(path).get("benchmarks", []):
        if b.get("run_type") != "aggregate" or b.get("aggregate_name") == "median":
            by_name[b["name"].split("/real_time")[0]] = b["real_time"]
sql = by_name.get("BM_ChangeDetector_SqliteLeftJoin/1000000")
for name in ("BM_ChangeDetector_Memory/1000000", "BM_ChangeDetector_MemoryTwoThreads/1000000"):
    if sql and by_name.get(name):
        print(f"change detection: SQLite LEFT JOIN / {name.split('/')[0]} = {sql / by_name[name]:.1f}x")
