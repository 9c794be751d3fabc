#!/usr/bin/python3
"""safetensors_to_torch.py IN.safetensors OUT.pt: convert safetensors (e.g. a springfield checkpoint) to a
PyTorch state_dict saved with torch.save, tensors in the order the file's header lists them.

    /usr/bin/python3 tools/safetensors_to_torch.py runs/x/best.safetensors best.pt
"""
import argparse
import collections
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    args = ap.parse_args()
    try:
        tensors, meta = st_io.load(args.input)
    except (OSError, st_io.FormatError) as e:
        raise SystemExit("error: %s" % e)
    sd = collections.OrderedDict((k, torch.from_numpy(v)) for k, v in tensors.items())
    torch.save(sd, args.output)
    print("wrote %s: %d tensors, %d values (metadata: %s)" % (args.output, len(sd), sum(t.numel() for t in sd.values()),
                                                             ", ".join(sorted(meta)) or "none"))


if __name__ == "__main__":
    main()
