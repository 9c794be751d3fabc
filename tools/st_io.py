"""st_io: a small reader and writer of the safetensors format in numpy, used by the conversion tools.

Layout: 8-byte little-endian header length N, N bytes of JSON
    {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ..., "__metadata__": {...}}
then the data section (offsets are relative to its start). Like springfield's C writer (src/nn/safetensors.c)
this writer places the widest dtypes first so every tensor is naturally aligned, pads the header with spaces
to a multiple of 8 and stores a CRC-32 of the data section in the metadata key "sf_crc32"; the reader checks
that CRC when present and the same layout rules as the C reader.

    tensors, meta = st_io.load("w.safetensors")     # {name: np.ndarray}, {key: str}
    st_io.save("w.safetensors", tensors, {"format": "pt"})
"""
import json
import os
import struct
import zlib

import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4", "U8": "u1",
          "F16": "<f2", "I16": "<i2", "I8": "i1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?"}
MAX_HEADER = 100_000_000
CRC_KEY = "sf_crc32"


class FormatError(ValueError):
    pass


def _dtype_name(arr):
    for name, code in DTYPES.items():
        if np.dtype(code) == arr.dtype.newbyteorder("<") or np.dtype(code) == arr.dtype:
            return name
    raise FormatError("dtype %s has no safetensors name here" % arr.dtype)


def load(path, verify=True):
    """Returns ({name: array}, metadata). Raises FormatError with the path for a malformed file."""
    with open(path, "rb") as f:
        blob = f.read()
    return loads(blob, path, verify)


def loads(blob, label="<bytes>", verify=True):
    def bad(msg):
        raise FormatError("%s: %s" % (label, msg))

    if len(blob) < 8:
        bad("file is too short (%d bytes) to hold the 8-byte header length" % len(blob))
    (n,) = struct.unpack("<Q", blob[:8])
    if n > MAX_HEADER:
        bad("header length %d exceeds the 100 MB limit" % n)
    if n > len(blob) - 8:
        bad("header length %d runs past the end of the file (%d bytes)" % (n, len(blob)))
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            bad("duplicate name in the JSON header")
        return dict(pairs)

    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        bad("invalid JSON header: %s" % e)
    if not isinstance(header, dict):
        bad("the JSON header is not an object")
    meta = header.pop("__metadata__", {}) or {}
    data = memoryview(blob)[8 + n:]
    spans = []
    out = {}
    for name, e in header.items():
        dt = e.get("dtype")
        if dt not in DTYPES:
            bad("tensor %r: unknown dtype %r" % (name, dt))
        shape = e.get("shape")
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            bad("tensor %r: shape must hold non-negative integers" % name)
        begin, end = e.get("data_offsets", [None, None])
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        nbytes = count * np.dtype(DTYPES[dt]).itemsize
        if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end <= len(data)):
            bad("tensor %r: data_offsets %r out of range (data section is %d bytes)" % (name, [begin, end], len(data)))
        if end - begin != nbytes:
            bad("tensor %r: shape does not match data_offsets (%d bytes needed, %d given)" % (name, nbytes, end - begin))
        spans.append((begin, end, name))
        out[name] = np.frombuffer(data[begin:end], dtype=DTYPES[dt]).reshape(tuple(shape)).copy()
    expect = 0
    for begin, end, name in sorted(spans):
        if begin != expect:
            bad("data is not contiguous or overlaps at tensor %r" % name)
        expect = end
    if expect != len(data):
        bad("data is not contiguous: %d unused bytes at the end of the data section" % (len(data) - expect))
    if verify and CRC_KEY in meta:
        crc = zlib.crc32(data) & 0xFFFFFFFF
        if "%08x" % crc != meta[CRC_KEY].lower():
            bad("checksum mismatch: file is corrupted (stored %s, computed %08x)" % (meta[CRC_KEY], crc))
    return out, meta


def save(path, tensors, metadata=None):
    """Writes {name: array} atomically (temporary file, fsync, rename)."""
    items = []
    for name, arr in tensors.items():
        arr = np.asarray(arr, order="C")  # ascontiguousarray would turn a 0-d scalar into shape (1,)
        dt = _dtype_name(arr)
        items.append((name, dt, arr.astype(DTYPES[dt], copy=False)))
    items.sort(key=lambda t: (-np.dtype(DTYPES[t[1]]).itemsize, t[0]))
    header = {}
    meta = {str(k): str(v) for k, v in (metadata or {}).items() if k != CRC_KEY}
    blobs = []
    off = 0
    crc = 0
    for name, dt, arr in items:
        raw = arr.tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        crc = zlib.crc32(raw, crc)
        off += len(raw)
    meta[CRC_KEY] = "%08x" % (crc & 0xFFFFFFFF)
    hdr = json.dumps(dict({"__metadata__": meta}, **header), separators=(",", ":")).encode("utf-8")
    hdr += b" " * (-len(hdr) % 8)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(hdr)))
            f.write(hdr)
            for b in blobs:
                f.write(b)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
