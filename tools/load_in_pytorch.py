#!/usr/bin/python3
"""load_in_pytorch.py --model simple|best|resnet18|resnet50 W.safetensors: prove that PyTorch can use a
springfield checkpoint. Builds the seed's model (tools/seed_models.py), calls load_state_dict(strict=True)
and runs one forward pass in eval mode.

The number of classes comes from the last layer's weight; the input size from --input-size, else the
checkpoint's "in_h" metadata (springfield's model files carry it), else for SimpleCnn the smallest size that
gives fc1 its stored width. Tensors named "train.*" (the optimizer and loop state that springfield's
state.safetensors adds next to the weights) are set aside before the strict load.

    /usr/bin/python3 tools/load_in_pytorch.py --model simple runs/x/best.safetensors
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed_models  # noqa: E402
import st_io  # noqa: E402

LAST_LAYER = {"simple": "out.weight", "best": "fc4.0.weight", "resnet18": "fc.weight", "resnet50": "fc.weight"}


def simple_input_size(fc1_in):
    for size in range(94, 4096):
        s = seed_models._simple_spatial(size)
        if 96 * s * s == fc1_in:
            return size
        if 96 * s * s > fc1_in:
            break
    raise SystemExit("error: fc1 input width %d matches no SimpleCnn input size" % fc1_in)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, choices=sorted(LAST_LAYER))
    ap.add_argument("--input-size", type=int, default=0, help="input side in pixels (default: from the checkpoint)")
    ap.add_argument("weights")
    args = ap.parse_args()
    try:
        tensors, meta = st_io.load(args.weights)
    except (OSError, st_io.FormatError) as e:
        raise SystemExit("error: %s" % e)
    arch = meta.get("arch")
    if arch and arch != args.model:
        print("warning: %s says arch=%s, loading it as --model %s" % (args.weights, arch, args.model), file=sys.stderr)
    state = [k for k in tensors if k.startswith("train.")]
    for k in state:
        del tensors[k]
    if state:
        print("set aside %d training-state tensors (train.*)" % len(state))
    last = LAST_LAYER[args.model]
    if last not in tensors:
        raise SystemExit("error: %s has no %s; is it a --model %s checkpoint?" % (args.weights, last, args.model))
    n_classes = tensors[last].shape[0]
    size = args.input_size or int(meta.get("in_h", 0))
    if args.model == "simple" and not size:
        size = simple_input_size(tensors["fc1.0.weight"].shape[1])
    size = size or 224
    model = seed_models.build_model(args.model, n_classes, size)
    sd = {k: torch.from_numpy(v) for k, v in tensors.items()}
    model.load_state_dict(sd, strict=True)
    model.eval()
    with torch.no_grad():
        y = model(torch.zeros(2, 3, size, size))
    n_params = sum(p.numel() for p in model.parameters())
    print("loaded %s into %s (strict): %d tensors, %d parameters, %d classes, input %dx%d; forward -> %s, finite %s"
          % (args.weights, type(model).__name__, len(sd), n_params, n_classes, size, size, tuple(y.shape),
             bool(torch.isfinite(y).all())))


if __name__ == "__main__":
    main()
