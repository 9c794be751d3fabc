#!/usr/bin/python3
"""torch_train_reference.py: train one of the seed's models in PyTorch on a class-per-folder dataset, with
springfield's recipe and without augmentation, and print validation accuracy per epoch. It is the outside
oracle for a whole training run on real data: the same model, split fraction, optimizer and input pipeline
as `springfield train ... --balance none --augment none`, so that the two learning curves can be laid
side by side. (The golden tests already pin down single steps; this pins down a run.)

    /usr/bin/python3 tools/torch_train_reference.py --data ../shared/data/simpsons/train \
        --model simple --size 96 --epochs 3

What matches springfield: classes sorted by folder name, files sorted; a stratified split with the same
fraction (a class with fewer than 2 images stays in train), though not the same draw, since the RNGs
differ; PIL's antialiased BILINEAR resize to (size, size), ImageNet normalisation; AdamW with AMSGrad,
lr 1e-3, weight decay 1e-2; batch 64, shuffled, last partial batch kept; BN in eval mode for validation.
Images are decoded once and kept as uint8 in memory (springfield's --cache). Needs torch and PIL (Debian's
python3-torch and python3-pil).
"""
import argparse
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed_models  # noqa: E402

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def list_dataset(root):
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    items = []
    for label, c in enumerate(classes):
        for f in sorted(os.listdir(os.path.join(root, c))):
            items.append((os.path.join(root, c, f), label))
    return classes, items


def stratified_split(items, n_classes, frac, seed):
    rng = random.Random(seed)
    train, val = [], []
    for c in range(n_classes):
        idx = [i for i, (_, lab) in enumerate(items) if lab == c]
        rng.shuffle(idx)
        n_val = int(round(len(idx) * frac)) if len(idx) >= 2 else 0
        val += idx[:n_val]
        train += idx[n_val:]
    return sorted(train), sorted(val)


def load(items, idx, size):
    x = np.empty((len(idx), size, size, 3), dtype=np.uint8)
    y = np.empty(len(idx), dtype=np.int64)
    for j, i in enumerate(idx):
        path, label = items[i]
        with Image.open(path) as im:
            x[j] = np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR))
        y[j] = label
    return x, y


def to_tensor(x8):
    x = (x8.astype(np.float32) / 255.0 - MEAN) / STD
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def evaluate(model, x8, y, batch):
    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for s in range(0, len(y), batch):
            logits = model(to_tensor(x8[s:s + batch]))
            t = torch.from_numpy(y[s:s + batch])
            loss += F.cross_entropy(logits, t, reduction="sum").item()
            correct += (logits.argmax(1) == t).sum().item()
    return loss / len(y), correct / len(y)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", default="simple", choices=["simple", "best", "resnet18", "resnet50"])
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--val-split", type=float, default=0.25)
    ap.add_argument("--flip", type=float, default=0.0, help="horizontal flip probability in training")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    classes, items = list_dataset(a.data)
    tr, va = stratified_split(items, len(classes), a.val_split, a.seed)
    t0 = time.time()
    xtr, ytr = load(items, tr, a.size)
    xva, yva = load(items, va, a.size)
    print("reference: %d classes, %d train, %d val images, decoded in %.1f s" %
          (len(classes), len(tr), len(va), time.time() - t0), flush=True)

    model = seed_models.build_model(a.model, len(classes), a.size)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-2, amsgrad=True)
    rng = np.random.default_rng(a.seed)
    print("epoch,train_loss,train_acc,val_loss,val_acc,seconds,img_per_s", flush=True)
    for epoch in range(1, a.epochs + 1):
        model.train()
        t0 = time.time()
        order = rng.permutation(len(ytr))
        loss_sum, correct = 0.0, 0
        for s in range(0, len(order), a.batch):
            b = order[s:s + a.batch]
            if len(b) < 2:  # BatchNorm1d cannot train on one sample
                continue
            xb = xtr[b]
            if a.flip > 0:
                m = rng.random(len(b)) < a.flip
                xb = xb.copy()
                xb[m] = xb[m, :, ::-1]
            logits = model(to_tensor(xb))
            t = torch.from_numpy(ytr[b])
            loss = F.cross_entropy(logits, t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(b)
            correct += (logits.argmax(1) == t).sum().item()
        secs = time.time() - t0
        vl, vacc = evaluate(model, xva, yva, 256)
        print("%d,%.6f,%.6f,%.6f,%.6f,%.2f,%.1f" % (epoch, loss_sum / len(ytr), correct / len(ytr), vl, vacc, secs,
                                                    len(ytr) / secs), flush=True)


if __name__ == "__main__":
    main()
