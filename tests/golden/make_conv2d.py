#!/usr/bin/python3
"""Golden data for the conv2d kernels: PyTorch forward and gradients for a spread of shapes.

Run from the repository root with /usr/bin/python3 (the interpreter that has torch). Writes
tests/golden/conv2d/cases.npy (int64 rows: n, ci, h, w, co, k, stride, pad, plain_input) and per case
cNN_{x,w,b,dy,y,dx,dw,db}.npy in float32. Inputs are float32; torch computes in float64 so that the
goldens carry no float32 rounding of their own.
"""
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conv2d")

# (n, ci, h, w, co, k, stride, pad, plain). Spatial sizes are reduced so the files stay small, and the
# wide layers of "best" keep their kernel, stride and padding with fewer channels (weights dominate the
# file size); the full channel counts are covered by the reference comparison in test_kern_conv2d.c.
CASES = [
    # simple: five Conv2d(k3, pad 0) 3->8->16->32->64->96, batch 1 and 3
    (1, 3, 17, 15, 8, 3, 1, 0, 1),
    (3, 8, 7, 9, 16, 3, 1, 0, 0),
    (1, 16, 9, 8, 32, 3, 1, 0, 0),
    (3, 32, 5, 7, 64, 3, 1, 0, 0),
    (1, 64, 5, 5, 96, 3, 1, 0, 0),
    # best: 3->32 k7 s2, 32->64 k5 s2, 64->128 k3 p1, 128->256 k3 p1, 256->256 k3 p1, 256->256 k2, all
    # but the first with fewer channels
    (3, 3, 23, 21, 32, 7, 2, 0, 1),
    (1, 32, 11, 13, 40, 5, 2, 0, 0),
    (1, 48, 5, 5, 128, 3, 1, 1, 0),
    (1, 40, 5, 4, 48, 3, 1, 1, 0),
    (3, 24, 4, 5, 40, 3, 1, 1, 0),
    (1, 40, 4, 4, 24, 2, 1, 0, 0),
    # ResNet: 7x7 s2 p3 on the image, 3x3 s2 p1, 1x1 s2 downsampling
    (1, 3, 19, 17, 16, 7, 2, 3, 1),
    (3, 24, 9, 9, 40, 3, 2, 1, 0),
    (1, 20, 7, 8, 36, 1, 2, 0, 0),
    # odd sizes, paddings 2 and 3, channel counts far from multiples of 16
    (3, 5, 8, 7, 21, 5, 1, 2, 0),
    (1, 9, 6, 5, 10, 4, 1, 3, 0),
    (1, 3, 9, 10, 5, 3, 2, 2, 1),
    # shapes the SGEMM path serves: 1x1 stride 1 (bottleneck blocks) with channel counts off the block,
    # and a tiny map where every tap but the centre touches padding
    (3, 24, 6, 5, 40, 1, 1, 0, 0),
    (2, 70, 4, 3, 18, 1, 1, 0, 0),
    (3, 40, 3, 3, 24, 3, 1, 1, 0),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(1234)
    total = 0
    for i, (n, ci, h, w, co, k, s, p, plain) in enumerate(CASES):
        x = torch.rand(n, ci, h, w, generator=g) * 2 - 1
        wt = (torch.rand(co, ci, k, k, generator=g) * 2 - 1) / (ci * k * k) ** 0.5
        b = torch.rand(co, generator=g) * 2 - 1
        xd, wd, bd = (t.double().requires_grad_(True) for t in (x, wt, b))
        y = torch.nn.functional.conv2d(xd, wd, bd, stride=s, padding=p)
        dy = (torch.rand(y.shape, generator=g) * 2 - 1).double()
        y.backward(dy)
        arrays = {"x": x, "w": wt, "b": b, "dy": dy, "y": y.detach(), "dx": xd.grad, "dw": wd.grad, "db": bd.grad}
        for name, t in arrays.items():
            a = t.detach().float().numpy()
            total += a.nbytes
            np.save(os.path.join(OUT, "c%02d_%s.npy" % (i, name)), a)
    np.save(os.path.join(OUT, "cases.npy"), np.array(CASES, dtype=np.int64))
    print("wrote %d cases, %.2f MB of float data, to %s" % (len(CASES), total / 1e6, OUT))


if __name__ == "__main__":
    main()
