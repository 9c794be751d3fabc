"""Goldens for the engine tests (tests/test_nn_*.c), from PyTorch 1.13. Run: /usr/bin/python3 tests/golden/make_models.py

Models: weights, inputs and labels come from a hash formula (fill() below, mirrored in
tests/test_nn_models.c) instead of being stored, so that the goldens stay small even for the 18M
parameter "best" model. For each (model, input size, batch) config <tag> it writes into models/:
  <tag>_names.txt        parameter names, then buffer names (state_dict order), one per line
  <tag>_logits_eval.npy  (N,K) eval-mode logits
  <tag>_logits_train.npy (N,K) train-mode logits (batch statistics)
  <tag>_loss.npy         (5) loss before each of 5 AdamW(amsgrad=True) steps
  <tag>_grad_sample.npy  first-step gradient of every parameter, sampled (see sample())
  <tag>_grad_norm.npy    its L2 norm per parameter
  <tag>_final_sample.npy parameters then float buffers after the 5 steps, sampled
  <tag>_final_norm.npy   their L2 norms
  <tag>_noise_*.npy      PyTorch's own float32-vs-float64 error of each of these (see model_goldens)
Optimizers and schedulers: adam_*.npy, sgd_*.npy, plateau_*.npy, cosine_*.npy (see the functions below).
"""
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import seed_models  # noqa: E402

OUT = os.path.join(HERE, "models")
MASK = np.uint64(0xFFFFFFFF)
N_CLASSES = 5
SAMPLES = 256


def fnv1a(s):
    h = 0x811C9DC5
    for b in s.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def unit(name, count):
    """(count) float32 in [-1, 1), a hash of (name, index); exact in float32 on both sides."""
    i = np.arange(count, dtype=np.uint64)
    x = (i * np.uint64(0x9E3779B1) + np.uint64(fnv1a(name))) & MASK
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x85EBCA6B)) & MASK
    x ^= x >> np.uint64(13)
    x = (x * np.uint64(0xC2B2AE35)) & MASK
    x ^= x >> np.uint64(16)
    u = (x >> np.uint64(8)).astype(np.float32) * np.float32(2.0 ** -24)
    return u * np.float32(2.0) - np.float32(1.0)


def fill(name, shape):
    """The test value of tensor `name`: weights v/sqrt(fan_in), biases v/16, BN gamma 1+v/4,
    running_mean v/8, running_var 1+v/2."""
    count = int(np.prod(shape)) if len(shape) else 1
    v = unit(name, count)
    if name.endswith("running_mean"):
        r = v * np.float32(0.125)
    elif name.endswith("running_var"):
        r = np.float32(1.0) + v * np.float32(0.5)
    elif name.endswith("bias"):
        r = v * np.float32(0.0625)
    elif len(shape) == 1:
        r = np.float32(1.0) + v * np.float32(0.25)
    else:
        fan_in = count // shape[0]
        r = v * np.float32(1.0 / math.sqrt(fan_in))
    return r.reshape(shape)


def sample(t):
    """SAMPLES elements at indices (j * count) // k, k = min(count, SAMPLES), of the flattened tensor."""
    f = t.detach().reshape(-1).numpy().astype(np.float32)
    c = f.size
    k = min(c, SAMPLES)
    idx = (np.arange(k, dtype=np.int64) * c) // k
    return f[idx]


def save(name, arr):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(arr))


def build(arch, size):
    torch.manual_seed(0)
    m = seed_models.build_model(arch, N_CLASSES, size)
    with torch.no_grad():
        for name, t in m.state_dict().items():
            if name.endswith("num_batches_tracked"):
                t.zero_()
            else:
                t.copy_(torch.from_numpy(fill(name, tuple(t.shape))))
    return m


def inputs(n, size):
    x = unit("input", n * 3 * size * size).reshape(n, 3, size, size)
    labels = (np.arange(n, dtype=np.int64) * 7 + 3) % N_CLASSES
    return torch.from_numpy(x.copy()), torch.from_numpy(labels)


def run(arch, size, n, dtype):
    """Everything the C test compares, computed in `dtype` from the formula weights."""
    x, y = inputs(n, size)
    x = x.to(dtype)
    r = {}
    m = build(arch, size).to(dtype)
    r["names"] = [k for k, _ in m.named_parameters()] + [k for k, _ in m.named_buffers()]
    r["n_params"] = len(list(m.parameters()))
    m.eval()
    with torch.no_grad():
        r["logits_eval"] = m(x).float().numpy()
    with torch.no_grad():
        r["logits_train"] = build(arch, size).to(dtype).train()(x).float().numpy()
    m.train()
    opt = torch.optim.AdamW(m.parameters(), amsgrad=True)
    losses = []
    for step in range(5):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(x), y)
        loss.backward()
        losses.append(loss.item())
        if step == 0:
            ps = list(m.parameters())
            r["grad_sample"] = [sample(p.grad) for p in ps]
            r["grad_norm"] = np.array([p.grad.double().norm().item() for p in ps], dtype=np.float32)
        opt.step()
    r["loss"] = np.array(losses, dtype=np.float32)
    finals = [p for p in m.parameters()] + [b for k, b in m.named_buffers() if not k.endswith("num_batches_tracked")]
    r["final_sample"] = [sample(t) for t in finals]
    r["final_norm"] = np.array([t.double().norm().item() for t in finals], dtype=np.float32)
    return r


def scaled_errors(a, b):
    """Per tensor: max |a-b| / max(max|b|, 1% of the largest |b| of all tensors) (as the C test)."""
    gmax = max(float(np.abs(t).max()) for t in b)
    return np.array([np.abs(u - v).max() / max(float(np.abs(v).max()), 0.01 * gmax) for u, v in zip(a, b)],
                    dtype=np.float32)


def model_goldens(arch, size, n):
    """The float32 results are the goldens. The float64 run measures how far PyTorch's own float32
    computation is from exact, per compared quantity (noise_*.npy): AdamW's first step moves each
    weight by about lr whatever the size of its gradient, so gradients at rounding-noise level (a bias
    before a BatchNorm, BatchNorm over two values per channel) make later steps diverge even between
    two correct float32 implementations. The tests allow a multiple of that measured noise."""
    tag = "%s_s%d_b%d" % (arch, size, n)
    r = run(arch, size, n, torch.float32)
    d = run(arch, size, n, torch.float64)
    with open(os.path.join(OUT, tag + "_names.txt"), "w") as f:
        f.write("%d %d\n" % (r["n_params"], len(r["names"]) - r["n_params"]))
        for k in r["names"]:
            f.write(k + "\n")
    for k in ("logits_eval", "logits_train", "loss", "grad_norm", "final_norm"):
        save("%s_%s.npy" % (tag, k), r[k])
    save(tag + "_grad_sample.npy", np.concatenate(r["grad_sample"]))
    save(tag + "_final_sample.npy", np.concatenate(r["final_sample"]))

    def rel(a, b):
        return float(np.abs(a - b).max() / max(1.0, float(np.abs(b).max())))

    save(tag + "_noise_logits.npy", np.array([rel(r["logits_eval"], d["logits_eval"]),
                                              rel(r["logits_train"], d["logits_train"])], dtype=np.float32))
    save(tag + "_noise_loss.npy", (np.abs(r["loss"] - d["loss"]) / np.maximum(1.0, np.abs(d["loss"]))).astype(np.float32))
    save(tag + "_noise_grad.npy", scaled_errors(r["grad_sample"], d["grad_sample"]))
    save(tag + "_noise_final.npy", np.array([np.abs(u - v).max() for u, v in zip(r["final_sample"], d["final_sample"])],
                                            dtype=np.float32))
    print("%-22s losses %s | f32 vs f64: loss %.1e grads %.1e final %.1e" % (
        tag, " ".join("%.5f" % v for v in r["loss"]), np.load(os.path.join(OUT, tag + "_noise_loss.npy")).max(),
        np.load(os.path.join(OUT, tag + "_noise_grad.npy")).max(),
        np.load(os.path.join(OUT, tag + "_noise_final.npy")).max()))


def forward_goldens(arch, size, n):
    """Logits only (eval and train mode), for configs too big for the step goldens: best at 224 px
    (the 5x5 -> 4x4 downsampling resize) and resnet50."""
    tag = "%s_s%d_b%d" % (arch, size, n)
    x, _ = inputs(n, size)
    m = build(arch, size)
    names_p = [k for k, _ in m.named_parameters()]
    names_b = [k for k, _ in m.named_buffers()]
    with open(os.path.join(OUT, tag + "_names.txt"), "w") as f:
        f.write("%d %d\n" % (len(names_p), len(names_b)))
        for k in names_p + names_b:
            f.write(k + "\n")
    with torch.no_grad():
        save(tag + "_logits_eval.npy", m.eval()(x).numpy())
        save(tag + "_logits_train.npy", m.train()(x).numpy())
    print("%-22s logits" % tag)


def optimizer_goldens():
    """Three parameter tensors (sizes 7, 33, 64), 6 steps with hash-formula gradients
    g = unit("grad<step>.<i>") * 0.5 * (i + 1) (step 3 gives tensor 1 a zero gradient), from
    p0 = unit("param.<i>"). Writes the parameters after every step, concatenated: (6, 104)."""
    sizes = [7, 33, 64]
    configs = {
        "adam": lambda ps: torch.optim.AdamW(ps, lr=1e-2),
        "adam_amsgrad": lambda ps: torch.optim.AdamW(ps, lr=1e-2, amsgrad=True),
        "adam_wd": lambda ps: torch.optim.AdamW(ps, lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1,
                                                amsgrad=True),
        "sgd": lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9),
        "sgd_nesterov": lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9, nesterov=True, weight_decay=1e-3),
        "sgd_plain": lambda ps: torch.optim.SGD(ps, lr=1e-1),
    }
    for cname, make in configs.items():
        ps = [torch.nn.Parameter(torch.from_numpy(unit("param.%d" % i, s).copy())) for i, s in enumerate(sizes)]
        opt = make(ps)
        out = []
        for step in range(6):
            for i, p in enumerate(ps):
                g = unit("grad%d.%d" % (step, i), sizes[i]) * np.float32(0.5 * (i + 1))
                if step == 3 and i == 1:
                    g = np.zeros_like(g)
                p.grad = torch.from_numpy(g.copy())
            opt.step()
            out.append(np.concatenate([p.detach().numpy().copy() for p in ps]))
        save("opt_%s.npy" % cname, np.stack(out))


def plateau_goldens():
    """ReduceLROnPlateau on scripted metric sequences: rows (metric, lr after the step,
    num_bad_epochs, cooldown_counter, best) for each config."""
    seqs = {
        "default": ([1.0, 0.9, 0.95, 0.95, 0.96, 0.89, 0.8999, 0.89, 0.9, 0.91, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75,
                     0.76, 0.77, 0.78, 0.79, 0.8, 0.81], {}),
        "cooldown": ([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6], dict(cooldown=2, patience=1)),
        "max_abs": ([0.1, 0.2, 0.25, 0.26, 0.2605, 0.2609, 0.3, 0.3, 0.3, 0.3, 0.3],
                    dict(mode="max", threshold_mode="abs", threshold=0.01, patience=1)),
        "min_lr": ([5.0] * 16, dict(patience=0, min_lr=2e-6, factor=0.5)),
        "tiny_threshold": ([1.0, 0.99995, 0.9999, 0.99985, 0.9998, 0.9997], dict(patience=1)),
    }
    for name, (metrics, kw) in seqs.items():
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.AdamW([p], lr=1e-3)
        args = dict(mode="min", factor=0.1, patience=2, threshold=1e-4)
        args.update(kw)
        sch = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **args)
        rows = []
        for v in metrics:
            v = float(np.float32(v))  # the test reads the metrics back as float32
            sch.step(v)
            rows.append([v, opt.param_groups[0]["lr"], sch.num_bad_epochs, sch.cooldown_counter, sch.best])
        np.save(os.path.join(OUT, "plateau_%s.npy" % name), np.array(rows, dtype=np.float64).astype(np.float32))


def cosine_goldens():
    """Warmup + cosine, stepped once per optimizer step as train --schedule cosine does:
    SequentialLR([LinearLR(start_factor=1/W, total_iters=W), CosineAnnealingLR(T_max=T-W, eta_min)],
    milestones=[W]) (CosineAnnealingLR alone when W = 0). Rows (step, lr used by that step) as float32."""
    configs = {"w5_t40": (5, 40, 0.0), "w0_t17_min": (0, 17, 1e-5), "w1_t9": (1, 9, 0.0)}
    for name, (warmup, total, eta_min) in configs.items():
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.AdamW([p], lr=1e-3)
        cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - warmup, eta_min=eta_min)
        if warmup:
            lin = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0 / warmup, total_iters=warmup)
            sch = torch.optim.lr_scheduler.SequentialLR(opt, [lin, cos], milestones=[warmup])
        else:
            sch = cos
        rows = []
        for step in range(total):
            rows.append([step, opt.param_groups[0]["lr"]])
            opt.step()
            sch.step()
        np.save(os.path.join(OUT, "cosine_%s.npy" % name), np.array(rows, dtype=np.float64).astype(np.float32))


def st_write(path, tensors):
    """Minimal safetensors writer (float32 / int64), so this script needs no extra package."""
    import json
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = t.detach().cpu().numpy()
        dt = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}[a.dtype]
        b = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))


def st_read(path):
    import json
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, d in header.items():
        if name == "__metadata__":
            continue
        a, b = d["data_offsets"]
        dt = {"F32": np.float32, "I64": np.int64}[d["dtype"]]
        out[name] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dt).reshape(d["shape"]).copy())
    return out


def check_cli(cli, arch="resnet18", size=40, n=3, steps=3):
    """End-to-end check of `springfield forward` and `springfield step` against PyTorch on torch's own
    random init (run by hand: make_models.py cli build/springfield [arch size batch]); writes nothing
    under models/. Also checks that the seed model's load_state_dict accepts the step's output."""
    import subprocess
    import tempfile
    tmp = tempfile.mkdtemp()
    torch.manual_seed(1)
    m = seed_models.build_model(arch, N_CLASSES, size)
    x = torch.randn(n, 3, size, size)
    y = torch.arange(n, dtype=torch.int64) % N_CLASSES
    st_write(tmp + "/w.safetensors", m.state_dict())
    st_write(tmp + "/x.safetensors", {"input": x})
    st_write(tmp + "/l.safetensors", {"labels": y})
    for mode in ("eval", "train"):
        args = [cli, "forward", "--model", arch, "--weights", tmp + "/w.safetensors", "--input", tmp + "/x.safetensors",
                "--output", tmp + "/y.safetensors"] + (["--train"] if mode == "train" else [])
        subprocess.run(args, check=True)
        m.train(mode == "train")
        with torch.no_grad():
            ref = seed_models.build_model(arch, N_CLASSES, size)
            ref.load_state_dict(m.state_dict())
            ref.train(mode == "train")
            want = ref(x)
        got = st_read(tmp + "/y.safetensors")["logits"]
        print("forward %-5s %s %dpx batch %d: max |logits - torch| = %.2e (max |logits| %.2f)" % (
            mode, arch, size, n, (got - want).abs().max().item(), want.abs().max().item()))
    subprocess.run([cli, "step", "--model", arch, "--weights", tmp + "/w.safetensors", "--input", tmp + "/x.safetensors",
                    "--labels", tmp + "/l.safetensors", "--steps", str(steps), "--output", tmp + "/o.safetensors"],
                   check=True)
    out = st_read(tmp + "/o.safetensors")
    m.train()
    opt = torch.optim.AdamW(m.parameters(), amsgrad=True)
    losses = []
    for s in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(x), y)
        loss.backward()
        losses.append(loss.item())
        if s == 0:
            gmax = max(p.grad.abs().max().item() for p in m.parameters())
            gerr = max(((out["grad." + k] - p.grad).abs().max() / p.grad.abs().max().clamp(min=0.01 * gmax)).item()
                       for k, p in m.named_parameters())
        opt.step()
    print("step: losses %s vs torch %s; worst first-step gradient error (relative to max(tensor max, 1%% of model max)) %.2e" % (
        " ".join("%.5f" % v for v in out["loss"].tolist()), " ".join("%.5f" % v for v in losses), gerr))
    state = {k: out[k] for k in m.state_dict()}
    fresh = seed_models.build_model(arch, N_CLASSES, size)
    fresh.load_state_dict(state, strict=True)
    werr = max((state[k].double() - v.double()).abs().max().item() for k, v in m.state_dict().items())
    print("step: load_state_dict(strict=True) of the output accepted; max |weight - torch| after %d steps %.2e" % (steps, werr))


def main():
    """Optional arguments pick parts: optim, plateau, cosine, simple, best, resnet18, forward (default: all);
    `cli PATH [arch size batch]` runs check_cli instead."""
    if sys.argv[1:2] == ["cli"]:
        extra = sys.argv[3:6]
        check_cli(sys.argv[2], *(extra[:1] + [int(v) for v in extra[1:]]))
        return
    parts = sys.argv[1:] or ["optim", "plateau", "cosine", "simple", "best", "resnet18", "forward"]
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(2)
    if "optim" in parts:
        optimizer_goldens()
    if "plateau" in parts:
        plateau_goldens()
    if "cosine" in parts:
        cosine_goldens()
    for arch, sizes in (("simple", (94, 126)), ("best", (96, 128)), ("resnet18", (32, 48))):
        if arch not in parts:
            continue
        for size in sizes:
            for n in (2, 5):
                model_goldens(arch, size, n)
    if "forward" in parts:
        forward_goldens("best", 224, 2)
        forward_goldens("resnet50", 64, 2)


if __name__ == "__main__":
    main()
