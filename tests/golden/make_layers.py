#!/usr/bin/python3
"""Golden data for the non-convolution layer kernels (pool, batch norm, bilinear resize, linear,
cross-entropy), from PyTorch: every such layer of the seed's models at batch 1 and 3, odd spatial
sizes and channel counts that are not multiples of 16.

Run from the repository root:  /usr/bin/python3 tests/golden/make_layers.py
Writes tests/golden/layers/<case>_<tensor>.npy (float32 or int64, C order). Each case stores its
input, output and, for layers with a backward, an upstream gradient dy and the resulting gradients.
Outputs are computed in float64 and rounded once, so they are the exact values to within float32;
bilinear resize is the exception (float32, see resize_case).
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "layers")
g = torch.Generator().manual_seed(20261129)


def randn(*shape, scale=1.0, offset=0.0):
    return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale + offset).float().double()


def save(case, **tensors):
    for name, t in tensors.items():
        a = t.detach().cpu().numpy()
        a = a.astype(np.int64) if a.dtype.kind in "iu" else a.astype(np.float32)
        np.save(os.path.join(OUT, f"{case}_{name}.npy"), np.ascontiguousarray(a))


def pool_case(case, kind, shape, k, s, p):
    x = randn(*shape).requires_grad_()
    if kind == "max":
        y = F.max_pool2d(x, k, s, p)
    else:
        y = F.avg_pool2d(x, k, s, p, count_include_pad=True)
    dy = randn(*y.shape)
    (dx,) = torch.autograd.grad(y, x, dy)
    save(case, x=x, y=y, dy=dy, dx=dx)


def gap_case(case, shape):
    x = randn(*shape).requires_grad_()
    y = F.adaptive_avg_pool2d(x, 1).flatten(1)
    dy = randn(*y.shape)
    (dx,) = torch.autograd.grad(y, x, dy)
    save(case, x=x, y=y, dy=dy, dx=dx)


def bn_case(case, shape, relu, offset=0.0):
    c = shape[1]
    x = randn(*shape, scale=2.0, offset=offset).requires_grad_()
    gamma = randn(c, scale=0.5, offset=1.0).requires_grad_()
    beta = randn(c, scale=0.5).requires_grad_()
    rm0, rv0 = randn(c, scale=0.3), randn(c, scale=0.2, offset=1.0).abs()
    rm, rv = rm0.clone(), rv0.clone()
    y = F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=0.1, eps=1e-5)
    if relu:
        y = F.relu(y)
    dy = randn(*y.shape)
    dx, dgamma, dbeta = torch.autograd.grad(y, (x, gamma, beta), dy)
    with torch.no_grad():
        y_eval = F.batch_norm(x, rm0, rv0, gamma, beta, training=False, eps=1e-5)
        if relu:
            y_eval = F.relu(y_eval)
    save(case, x=x, gamma=gamma, beta=beta, rm0=rm0, rv0=rv0, y=y, dy=dy, dx=dx, dgamma=dgamma,
         dbeta=dbeta, rm1=rm, rv1=rv, y_eval=y_eval)


def bn_eval_case(case, shape, relu):
    c = shape[1]
    x = randn(*shape, scale=2.0)
    gamma, beta = randn(c, scale=0.5, offset=1.0), randn(c, scale=0.5)
    rm0, rv0 = randn(c, scale=0.3), randn(c, scale=0.2, offset=1.0).abs()
    y = F.batch_norm(x, rm0, rv0, gamma, beta, training=False, eps=1e-5)
    if relu:
        y = F.relu(y)
    save(case, x=x, gamma=gamma, beta=beta, rm0=rm0, rv0=rv0, y_eval=y)


def resize_case(case, shape, size):
    # In float32: F.interpolate computes the source coordinates in the input's precision, and the
    # kernel must reproduce float32 PyTorch, not a float64 variant of the rule.
    x = randn(*shape).float().requires_grad_()
    y = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    dy = randn(*y.shape).float()
    (dx,) = torch.autograd.grad(y, x, dy)
    save(case, x=x, y=y, dy=dy, dx=dx)


def linear_case(case, n, i, o):
    x, w, b = randn(n, i).requires_grad_(), randn(o, i, scale=0.2).requires_grad_(), randn(o).requires_grad_()
    y = F.linear(x, w, b)
    dy = randn(n, o)
    dx, dw, db = torch.autograd.grad(y, (x, w, b), dy)
    save(case, x=x, w=w, b=b, y=y, dy=dy, dx=dx, dw=dw, db=db)


def xent_case(case, n, k, scale, smoothing=0.0):
    z = randn(n, k, scale=scale).requires_grad_()
    t = torch.randint(0, k, (n,), generator=g)
    loss = F.cross_entropy(z, t, label_smoothing=smoothing)
    (dz,) = torch.autograd.grad(loss, z)
    save(case, logits=z, labels=t, loss=loss.reshape(1), dlogits=dz)


def main():
    os.makedirs(OUT, exist_ok=True)
    for n in (1, 3):
        # The seed's pooling layers: small CNN maxpool 2x2 s2, AlexNet-style maxpool 3 s2 and avgpool 3 s2,
        # ResNet stem maxpool 3 s2 p1; plus avgpool with padding (count_include_pad) and global average.
        pool_case(f"maxpool_k2s2_n{n}", "max", (n, 19, 11, 13), 2, 2, 0)
        pool_case(f"maxpool_k3s2_n{n}", "max", (n, 19, 13, 15), 3, 2, 0)
        pool_case(f"maxpool_k3s2p1_n{n}", "max", (n, 19, 13, 15), 3, 2, 1)
        pool_case(f"avgpool_k3s2_n{n}", "avg", (n, 19, 13, 15), 3, 2, 0)
        pool_case(f"avgpool_k3s2p1_n{n}", "avg", (n, 19, 13, 15), 3, 2, 1)
        gap_case(f"gap_n{n}", (n, 37, 7, 5))
        bn_case(f"bn2d_n{n}", (n, 19, 7, 9), relu=False)
        bn_case(f"bn2d_relu_n{n}", (n, 19, 7, 9), relu=True)
        # Bilinear resizes of the seed's models (to a 4x4 map), and a downscale.
        resize_case(f"resize_1x1_4x4_n{n}", (n, 19, 1, 1), (4, 4))
        resize_case(f"resize_3x3_4x4_n{n}", (n, 19, 3, 3), (4, 4))
        resize_case(f"resize_7x5_4x4_n{n}", (n, 19, 7, 5), (4, 4))
        resize_case(f"resize_13x11_5x3_n{n}", (n, 19, 13, 11), (5, 3))
        resize_case(f"resize_5x7_9x11_n{n}", (n, 19, 5, 7), (9, 11))
        linear_case(f"linear_n{n}", n, 37, 42)
        xent_case(f"xent_n{n}", n, 42, 3.0)
    # A far-from-zero mean: the naive sum-of-squares variance loses every digit here.
    bn_case("bn2d_offset_n3", (3, 19, 7, 9), relu=False, offset=300.0)
    # BatchNorm1d trains only with more than one row; batch 1 is covered in eval mode.
    bn_case("bn1d_n3", (3, 37), relu=False)
    bn_case("bn1d_n2", (2, 37), relu=False)
    bn_eval_case("bn1d_eval_n1", (1, 37), relu=False)
    bn_eval_case("bn2d_eval_relu_n1", (1, 19, 7, 9), relu=True)
    # Logits large enough that exp() overflows without the max shift.
    xent_case("xent_large_n3", 3, 42, 200.0)
    xent_case("xent_n64", 64, 42, 3.0)
    # Label smoothing (train --label-smoothing): the target is (1 - eps) one-hot + eps / K.
    xent_case("xent_ls10_n64", 64, 42, 3.0, smoothing=0.1)
    xent_case("xent_ls30_large_n3", 3, 42, 200.0, smoothing=0.3)


if __name__ == "__main__":
    main()
