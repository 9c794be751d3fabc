#!/usr/bin/python3
"""torch_to_safetensors.py IN.pt OUT.safetensors: convert a PyTorch state_dict to safetensors.

IN.pt may hold a state_dict, a dict with a "state_dict" or "model" entry, or a whole nn.Module. float32,
float64, int64, int32 and uint8 tensors keep their dtype; float16 / bfloat16 become float32 and bool becomes
uint8 (springfield reads F32, F64, I64, I32, U8), each change reported. Example with torchvision's weights:

    /usr/bin/python3 tools/torch_to_safetensors.py ~/.cache/torch/hub/checkpoints/resnet18-f37072fd.pth r18.safetensors
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

KEEP = {torch.float32, torch.float64, torch.int64, torch.int32, torch.uint8}
WIDEN = {torch.float16: torch.float32, torch.bfloat16: torch.float32, torch.bool: torch.uint8}


def state_dict_of(obj, path):
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if key in obj and isinstance(obj[key], (dict, torch.nn.Module)):
                return state_dict_of(obj[key], path)
        return obj
    raise SystemExit("error: %s holds a %s, not a state_dict" % (path, type(obj).__name__))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    args = ap.parse_args()
    sd = state_dict_of(torch.load(args.input, map_location="cpu"), args.input)
    out = {}
    for name, t in sd.items():
        if not isinstance(t, torch.Tensor):
            print("skipping %s: not a tensor (%s)" % (name, type(t).__name__), file=sys.stderr)
            continue
        if t.dtype in WIDEN:
            print("converting %s from %s to %s" % (name, t.dtype, WIDEN[t.dtype]), file=sys.stderr)
            t = t.to(WIDEN[t.dtype])
        elif t.dtype not in KEEP:
            raise SystemExit("error: %s has dtype %s, which has no safetensors type springfield reads" % (name, t.dtype))
        out[name] = t.detach().contiguous().cpu().numpy()
    st_io.save(args.output, out, {"format": "pt", "source": os.path.basename(args.input)})
    n = sum(a.size for a in out.values())
    print("wrote %s: %d tensors, %d values" % (args.output, len(out), n))


if __name__ == "__main__":
    main()
