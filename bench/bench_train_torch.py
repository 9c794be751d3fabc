"""PyTorch side of `springfield bench train`: the same model, batch and thread count, timed the same way.

Full training steps (forward, cross-entropy, backward, AdamW with amsgrad) on synthetic tensors, then
inference (eval mode, no_grad). Prints one JSON line: median seconds per step and per inference batch,
images/s and the process's peak RSS. Run with /usr/bin/python3 (torch 1.13):

    bench_train_torch.py --model simple --size 96 --batch 64 --threads 2 --steps 10
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from seed_models import build_model  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="simple")
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--classes", type=int, default=42)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = build_model(a.model, a.classes, a.size)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, amsgrad=True)
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.randint(0, a.classes, (a.batch,))

    model.train()
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    step_s = statistics.median(times)

    model.eval()
    inf = []
    with torch.no_grad():
        for i in range(a.warmup + a.steps):
            t0 = time.perf_counter()
            model(x)
            if i >= a.warmup:
                inf.append(time.perf_counter() - t0)
    inf_s = statistics.median(inf)

    print(json.dumps({
        "impl": "pytorch", "torch": torch.__version__, "model": a.model, "size": a.size, "batch": a.batch,
        "threads": a.threads, "steps": a.steps, "step_s": step_s, "train_img_s": a.batch / step_s,
        "infer_s": inf_s, "infer_img_s": a.batch / inf_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "final_loss": float(loss),
    }))


if __name__ == "__main__":
    main()
