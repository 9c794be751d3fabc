#!/usr/bin/env python3
"""One Markdown table of every published run, from the files the runs wrote.

    tools/results_table.py [results/journey-springfield]

For each config-NAME.json that has a history-NAME.csv beside it (both copied by tools/publish_run.sh),
prints one row: the model, training and validation size, balancing, schedule, precision, the run whose weights it
started from (--init), epochs, wall clock (the sum of the epochs' seconds: training plus validation, pauses
between sessions not counted, and not the time of the run it started from), the best validation accuracy
with its epoch and macro-F1, and the wall clock at which validation accuracy first reached 0.90, 0.95
and 0.97 (with train --val-every, at the first validated epoch past the mark).
Rows go from the best validation accuracy down. Needs only the standard library.
"""
import csv
import json
import math
import os
import sys

from run_summary import hms  # the same h:mm:ss as the per-run summaries


def row(folder, name):
    with open(os.path.join(folder, f"config-{name}.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(folder, f"history-{name}.csv"), newline="") as f:
        hist = list(csv.DictReader(f))
    if not hist:
        return None
    elapsed, cum = 0.0, []
    for r in hist:
        elapsed += float(r["seconds"])
        cum.append(elapsed)
    # history.csv keeps 6 decimals; accuracy is a count over n_val, so recover the exact fraction (0.832850
    # would print as 0.8328, the run's own log says 0.8329)
    # (an epoch that train --val-every did not validate has nan, never a best and never a threshold)
    n_val = cfg.get("n_val")
    val = [float(r["val_acc"]) for r in hist]
    acc = [round(v * n_val) / n_val if n_val and not math.isnan(v) else v for v in val]
    checked = [i for i in range(len(hist)) if not math.isnan(acc[i])]
    if not checked:
        return None
    best = max(checked, key=lambda i: acc[i])  # the first of equal bests, as train keeps it

    def reached(t):
        i = next((i for i, a in enumerate(acc) if a >= t), None)
        return "-" if i is None else f"{hms(cum[i])} (ep {hist[i]['epoch']})"

    size = cfg.get("size", 96)
    val_size = cfg.get("val-size") or size  # runs before --val-size existed validated at --size
    init = cfg.get("init")
    parent = os.path.basename(os.path.dirname(init)) if init else ""
    return {
        "acc": acc[best],
        "cells": [
            f"`{name}`", cfg.get("model", "?"), str(size), str(val_size),
            cfg.get("balance_resolved") or cfg.get("balance") or "?", cfg.get("schedule") or "plateau",
            cfg.get("precision") or "fp32",  # runs before --precision existed were fp32
            f"`{parent}`" if parent else "", str(len(hist)), hms(elapsed),
            f"**{acc[best]:.4f}** (ep {hist[best]['epoch']})", f"{float(hist[best]['val_f1']):.4f}",
            reached(0.90), reached(0.95), reached(0.97),
        ],
    }


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "results/journey-springfield"
    try:
        names = sorted(f[len("config-"):-len(".json")] for f in os.listdir(folder)
                       if f.startswith("config-") and f.endswith(".json"))
    except OSError as e:
        sys.exit(f"results_table: {folder}: {e.strerror}")
    rows = [r for n in names if os.path.exists(os.path.join(folder, f"history-{n}.csv")) for r in [row(folder, n)]
            if r]
    rows.sort(key=lambda r: -r["acc"])
    print("| run | model | train px | val px | balance | schedule | precision | from | epochs | wall clock "
          "| best val acc | its macro-F1 | 0.90 at | 0.95 at | 0.97 at |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r["cells"]) + " |")


if __name__ == "__main__":
    main()
