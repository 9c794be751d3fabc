#!/usr/bin/python3
"""Writes tests/golden/safetensors/python.safetensors: a tiny file made by Python, independently of the C
writer, to check that springfield reads files written elsewhere.

The Debian package python3-safetensors does not exist in bookworm, so the format is written by hand with
struct + json + numpy, the way the reference implementation lays it out: 8-byte little-endian header
length, JSON header, raw little-endian data. Unlike springfield's writer, tensors are placed in name order
(a U8 tensor of odd length first), so the reader also meets tensors off their natural alignment.

Values are simple formulas that tests/test_safetensors.c recomputes:
  a_bytes   U8  (5,)      i * 7 % 256
  b_weight  F32 (2,3,4)   0.25 * i - 3
  c_index   I64 (3,)      [-1, 0, 2**40 + 5]
  d_scale   F64 (2,2)     i / 3
  e_count   I32 (4,)      -2 * i + 1
  f_empty   F32 (0,4)     (no data)
  g_scalar  F32 ()        42.5
Metadata: {"format": "pt", "source": "make_safetensors.py"} (no sf_crc32: a foreign file has none).
"""
import json
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "safetensors")


def tensors():
    return [
        ("a_bytes", "U8", (np.arange(5) * 7 % 256).astype("<u1")),
        ("b_weight", "F32", (0.25 * np.arange(24) - 3).astype("<f4").reshape(2, 3, 4)),
        ("c_index", "I64", np.array([-1, 0, 2**40 + 5], dtype="<i8")),
        ("d_scale", "F64", (np.arange(4) / 3).astype("<f8").reshape(2, 2)),
        ("e_count", "I32", (-2 * np.arange(4) + 1).astype("<i4")),
        ("f_empty", "F32", np.zeros((0, 4), dtype="<f4")),
        ("g_scalar", "F32", np.array(42.5, dtype="<f4")),
    ]


def write(path, items, metadata):
    header = {"__metadata__": metadata}
    blobs = []
    off = 0
    for name, dt, arr in items:
        raw = arr.tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hdr = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hdr += b" " * (-len(hdr) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hdr)))
        f.write(hdr)
        for b in blobs:
            f.write(b)


def main():
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "python.safetensors")
    write(path, tensors(), {"format": "pt", "source": "make_safetensors.py"})
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
