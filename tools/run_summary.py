#!/usr/bin/env python3
"""Summarise a springfield run folder as Markdown, from the files the run itself wrote.

    tools/run_summary.py runs/best96 [--smallest 8]

Reads history.csv (one row per epoch: seconds is the epoch's wall time, training plus validation, so a
paused and resumed run counts only the time it ran) and per_class.csv (validation metrics of the best
weights). Prints: the wall-clock time to reach each validation-accuracy threshold, the best and final
epoch, images/s per epoch, and the per-class F1 of the smallest classes. Needs only the standard library.
"""
import argparse
import csv
import math
import os
import sys


def hms(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="run folder (holds history.csv and per_class.csv)")
    ap.add_argument("--smallest", type=int, default=8, help="how many of the smallest classes to list")
    ap.add_argument("--thresholds", default="0.90,0.95,0.97,0.99", help="validation accuracies to time")
    a = ap.parse_args()

    hist_path = os.path.join(a.run, "history.csv")
    try:
        with open(hist_path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        sys.exit(f"run_summary: {hist_path}: {e.strerror}")
    if not rows:
        sys.exit(f"run_summary: {hist_path}: no epochs recorded yet")

    elapsed, cum = 0.0, []
    for r in rows:
        elapsed += float(r["seconds"])
        cum.append(elapsed)
    name = os.path.basename(os.path.normpath(a.run))
    print(f"### {name}: {len(rows)} epochs, {hms(elapsed)} of training and validation\n")

    print("| validation accuracy reached | epoch | wall clock (h:mm:ss) |")
    print("|---|---|---|")
    for t in (float(x) for x in a.thresholds.split(",")):
        hit = next((i for i, r in enumerate(rows) if float(r["val_acc"]) >= t), None)
        if hit is None:
            print(f"| {t:.2f} | not reached | |")
        else:
            print(f"| {t:.2f} | {rows[hit]['epoch']} | {hms(cum[hit])} |")

    # epochs that train --val-every did not validate hold nan: never the best
    checked = [i for i in range(len(rows)) if not math.isnan(float(rows[i]["val_acc"]))]
    if not checked:
        sys.exit(f"run_summary: {hist_path}: no validated epoch recorded yet")
    best = max(checked, key=lambda i: float(rows[i]["val_acc"]))
    print("\n| | epoch | val_acc | macro-F1 | val_loss |")
    print("|---|---|---|---|---|")
    for label, i in (("best", best), ("final", len(rows) - 1)):
        r = rows[i]
        print(f"| {label} | {r['epoch']} | {float(r['val_acc']):.4f} | {float(r['val_f1']):.4f} | "
              f"{float(r['val_loss']):.4f} |")

    print("\n| epoch | lr | train_loss | train_acc | val_loss | val_acc | val_f1 | seconds | img/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['epoch']} | {float(r['lr']):.2g} | {float(r['train_loss']):.4f} | {float(r['train_acc']):.4f} | "
              f"{float(r['val_loss']):.4f} | {float(r['val_acc']):.4f} | {float(r['val_f1']):.4f} | "
              f"{float(r['seconds']):.0f} | {float(r['img_per_s']):.0f} |")

    pc_path = os.path.join(a.run, "per_class.csv")
    if os.path.exists(pc_path):
        with open(pc_path, newline="") as f:
            pc = list(csv.DictReader(f))
        pc.sort(key=lambda r: (int(r["support"]), r["class"]))
        print(f"\nPer-class validation metrics of the best weights, the {a.smallest} smallest classes:\n")
        print("| class | validation images | precision | recall | F1 |")
        print("|---|---|---|---|---|")
        for r in pc[: a.smallest]:
            print(f"| {r['class']} | {r['support']} | {float(r['precision']):.3f} | {float(r['recall']):.3f} | "
                  f"{float(r['f1']):.3f} |")


if __name__ == "__main__":
    main()
