#!/usr/bin/python3
"""Writes the bad-input corpus under tests/corpus/ and the fuzzers' seed corpora under fuzz/corpus/.

Run with /usr/bin/python3 (PIL, numpy). The outputs are committed, so tests never need Python. Everything is
synthetic and seeded: the same script writes the same bytes. The arithmetic-coded JPEG needs `cjpeg` or
`jpegtran` from libjpeg-turbo-progs (PIL cannot write one); without them that file is kept as it is.

tests/corpus/
  images/            one file per kind of awkward image (see IMAGES below)
  dataset_bad_class/ a dataset root whose class "only_bad" holds only undecodable files
  dataset_no_classes/ a dataset root with files but no class folders
  submission_mixed/  a test folder for `predict` with a non-image among the images
  profiles/garbage.profile   a `key = value` profile full of garbage lines
  safetensors/       one file per kind of header corruption (expected messages: tests/test_corpus_safetensors.c)
fuzz/corpus/safetensors/, fuzz/corpus/image/   small valid and malformed seeds for the harnesses
"""
import io
import json
import os
import shutil
import struct
import subprocess
import zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FUZZ = os.path.join(ROOT, "fuzz", "corpus")
RNG = np.random.default_rng(20261129)


def put(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def picture(w, h):
    """A smooth colour picture with an edge, so JPEG has real content to code."""
    y, x = np.mgrid[0:h, 0:w]
    r = (255 * x / max(w - 1, 1)).astype(np.uint8)
    g = (255 * y / max(h - 1, 1)).astype(np.uint8)
    b = np.where((x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(w, h) / 3) ** 2, 220, 30).astype(np.uint8)
    return Image.fromarray(np.stack([r, g, b], axis=2), "RGB")


def encode(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def jpeg_with_declared_size(jpeg, w, h):
    """Rewrites the SOF marker's width and height; the entropy-coded data stays that of the small image."""
    b = bytearray(jpeg)
    i = 2
    while i + 4 <= len(b):
        if b[i] != 0xFF:
            raise ValueError("lost marker sync")
        marker = b[i + 1]
        seglen = struct.unpack(">H", b[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            struct.pack_into(">HH", b, i + 5, h, w)
            return bytes(b)
        i += 2 + seglen
    raise ValueError("no SOF marker")


def png_with_declared_size(png, w, h):
    """Rewrites IHDR's width and height and fixes its CRC, so only the size check can reject it."""
    b = bytearray(png)
    assert b[12:16] == b"IHDR"
    struct.pack_into(">II", b, 16, w, h)
    struct.pack_into(">I", b, 29, zlib.crc32(bytes(b[12:29])) & 0xFFFFFFFF)
    return bytes(b)


def arithmetic_jpeg(baseline):
    """libjpeg-turbo's tools can write arithmetic coding; PIL cannot."""
    for cmd in (["jpegtran", "-arithmetic"], ["cjpeg", "-arithmetic"]):
        if shutil.which(cmd[0]) is None:
            continue
        src = baseline if cmd[0] == "jpegtran" else encode(Image.open(io.BytesIO(baseline)), "PPM")
        out = subprocess.run(cmd, input=src, stdout=subprocess.PIPE, check=True).stdout
        return out
    return None


def images():
    d = os.path.join(HERE, "images")
    pic = picture(64, 48)
    base = encode(pic, "JPEG", quality=85)
    put(os.path.join(d, "ok_64x48.jpg"), base)
    put(os.path.join(d, "ok_64x48.png"), encode(pic, "PNG"))
    for cut in (2, 20, 200, len(base) // 2, len(base) - 2):
        put(os.path.join(d, "truncated_at_%d.jpg" % cut), base[:cut])
    put(os.path.join(d, "zero_bytes.jpg"), b"")
    put(os.path.join(d, "random_bytes.jpg"), RNG.integers(0, 256, 3000, dtype=np.uint8).tobytes())
    put(os.path.join(d, "html_saved_as.jpg"),
        b"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head>\n"
        b"<body><h1>Forbidden</h1><p>You don't have permission to access this image.</p></body></html>\n")
    put(os.path.join(d, "png_named.jpg"), encode(pic, "PNG"))
    put(os.path.join(d, "cmyk.jpg"), encode(pic.convert("CMYK"), "JPEG", quality=85))
    put(os.path.join(d, "grayscale.jpg"), encode(pic.convert("L"), "JPEG", quality=85))
    put(os.path.join(d, "progressive.jpg"), encode(pic, "JPEG", quality=85, progressive=True))
    arith = arithmetic_jpeg(base)
    if arith is not None:
        put(os.path.join(d, "arithmetic.jpg"), arith)
    elif not os.path.exists(os.path.join(d, "arithmetic.jpg")):
        print("warning: no jpegtran/cjpeg (apt-get install libjpeg-turbo-progs): arithmetic.jpg not written")
    put(os.path.join(d, "one_pixel.jpg"), encode(picture(1, 1), "JPEG", quality=90))
    put(os.path.join(d, "one_pixel.png"), encode(picture(1, 1), "PNG"))
    put(os.path.join(d, "declares_65500x65500.jpg"), jpeg_with_declared_size(base, 65500, 65500))
    put(os.path.join(d, "declares_65500x65500.png"), png_with_declared_size(encode(pic, "PNG"), 65500, 65500))
    return base


def folders(base):
    small = encode(picture(40, 30), "JPEG", quality=85)
    d = os.path.join(HERE, "dataset_bad_class")
    put(os.path.join(d, "good_class", "pic_0000.jpg"), small)
    put(os.path.join(d, "good_class", "pic_0001.jpg"), base)
    put(os.path.join(d, "only_bad", "pic_0000.jpg"), b"")
    put(os.path.join(d, "only_bad", "pic_0001.jpg"), base[:200])
    put(os.path.join(d, "only_bad", "pic_0002.jpg"), b"<html><body>Not Found</body></html>\n")
    d = os.path.join(HERE, "dataset_no_classes")
    put(os.path.join(d, "pic_0000.jpg"), small)
    put(os.path.join(d, "README.txt"), b"images were supposed to be in one folder per class\n")
    d = os.path.join(HERE, "submission_mixed")
    put(os.path.join(d, "img0.jpg"), small)
    put(os.path.join(d, "img1.jpg"), encode(picture(30, 40), "PNG"))  # a PNG named .jpg, as in the real test set
    put(os.path.join(d, "notes.txt"), b"this is not an image\n")
    put(os.path.join(d, "img2.jpg"), b"")


def profile():
    text = (
        "# a profile file damaged in every way a hand edit can manage\n"
        "lr = fast\n"
        "batch_size = -12\n"
        "epochs = 1e999\n"
        "threads = 0x\n"
        "= 3\n"
        "momentum\n"
        "weight_decay == 0.1\n"
        "unknown_key = 7\n"
        "input_size = 224 224\n"
        "label_smoothing = nan\n"
        "model = resnet9000\n"
        "lr = 0.1 # duplicate\n"
        "\x00\x01\x02 binary junk \xff\n"
        "  \t  \n"
        "[section]\n"
        "very_long_value = " + "9" * 300 + "\n"
        "no_newline_at_end = 1"
    )
    put(os.path.join(HERE, "profiles", "garbage.profile"), text.encode("latin-1"))


# ---- safetensors: one file per kind of corruption

def st_bytes(header, data, pad=True):
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def st_valid(meta_crc=True):
    """Two tensors in the springfield writer's layout, with the CRC it stores."""
    w = (np.arange(6, dtype="<f4") - 2.5).tobytes()
    b = np.array([1, 2], dtype="<i8").tobytes()
    data = b + w  # widest dtype first
    header = {"__metadata__": {"format": "pt"},
              "b": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]},
              "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [16, 40]}}
    if meta_crc:
        header["__metadata__"]["sf_crc32"] = "%08x" % (zlib.crc32(data) & 0xFFFFFFFF)
    return header, data


def safetensors():
    d = os.path.join(HERE, "safetensors")
    files = {}
    h, data = st_valid()
    files["valid.safetensors"] = st_bytes(h, data)
    files["zero_bytes.safetensors"] = b""
    files["too_short.safetensors"] = b"\x10\x00\x00"
    files["header_length_huge.safetensors"] = struct.pack("<Q", 1 << 40) + b"{}"
    files["header_past_end.safetensors"] = struct.pack("<Q", 64) + b'{"a":{}}'
    files["html_page.safetensors"] = b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n"
    files["torch_zip.safetensors"] = b"PK\x03\x04" + bytes(60)  # a torch.save() file under the wrong name
    good = st_bytes(h, data)
    files["truncated_data.safetensors"] = good[:-7]
    raw = b'{"w":{"dtype"'
    files["invalid_json.safetensors"] = struct.pack("<Q", len(raw)) + raw
    files["header_not_object.safetensors"] = st_bytes([1, 2, 3], b"")
    raw = b'{"\xff":1}'
    files["invalid_utf8.safetensors"] = struct.pack("<Q", len(raw)) + raw
    dup = (b'{"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},'
           b'"w":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}')  # json.dumps cannot write a duplicate key
    files["duplicate_name.safetensors"] = struct.pack("<Q", len(dup)) + dup + b"\x01\x02\x03\x04"
    files["metadata_not_object.safetensors"] = st_bytes({"__metadata__": "pt"}, b"")
    files["metadata_not_string.safetensors"] = st_bytes({"__metadata__": {"epoch": 3}}, b"")
    files["entry_not_object.safetensors"] = st_bytes({"w": [0, 4]}, b"")
    files["missing_dtype.safetensors"] = st_bytes({"w": {"shape": [1], "data_offsets": [0, 4]}}, bytes(4))
    files["unknown_dtype.safetensors"] = st_bytes({"w": {"dtype": "F31", "shape": [1], "data_offsets": [0, 4]}}, bytes(4))
    files["bf16.safetensors"] = st_bytes({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, bytes(4))
    files["f16.safetensors"] = st_bytes({"w": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}, bytes(4))
    files["missing_shape.safetensors"] = st_bytes({"w": {"dtype": "F32", "data_offsets": [0, 4]}}, bytes(4))
    files["negative_shape.safetensors"] = st_bytes({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, bytes(4))
    files["too_many_dims.safetensors"] = st_bytes({"w": {"dtype": "U8", "shape": [1] * 9, "data_offsets": [0, 1]}}, bytes(1))
    files["bad_offsets.safetensors"] = st_bytes({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}, bytes(4))
    files["shape_mismatch.safetensors"] = st_bytes({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}}, bytes(20))
    files["shape_overflow.safetensors"] = st_bytes(
        {"w": {"dtype": "F32", "shape": [2 ** 62, 2 ** 62], "data_offsets": [0, 4]}}, bytes(4))
    files["offsets_out_of_range.safetensors"] = st_bytes({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, bytes(8))
    files["offsets_reversed.safetensors"] = st_bytes({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}}, bytes(8))
    files["overlap.safetensors"] = st_bytes({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                             "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12))
    files["gap.safetensors"] = st_bytes({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                                         "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}, bytes(12))
    files["trailing_bytes.safetensors"] = st_bytes({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, bytes(7))
    bad = bytearray(good)
    bad[-5] ^= 0x40  # one bit of w[5]: still a plausible float, only the checksum can tell
    files["flipped_data_bit.safetensors"] = bytes(bad)
    h2, _ = st_valid()
    h2["__metadata__"]["sf_crc32"] = "not-hex!"
    files["crc_not_hex.safetensors"] = st_bytes(h2, data)
    for name, blob in files.items():
        put(os.path.join(d, name), blob)
    return files


def fuzz_seeds(st_files, base):
    sd = os.path.join(FUZZ, "safetensors")
    for name, blob in st_files.items():
        if blob:
            put(os.path.join(sd, name), blob)
    golden = os.path.join(ROOT, "tests", "golden", "safetensors", "python.safetensors")
    if os.path.exists(golden):
        shutil.copy(golden, os.path.join(sd, "python.safetensors"))
    h, data = st_valid(meta_crc=False)
    put(os.path.join(sd, "valid_no_crc.safetensors"), st_bytes(h, data))
    idir = os.path.join(FUZZ, "image")
    pic = picture(24, 16)
    seeds = {
        "baseline.jpg": encode(pic, "JPEG", quality=75),
        "progressive.jpg": encode(pic, "JPEG", quality=75, progressive=True),
        "gray.jpg": encode(pic.convert("L"), "JPEG", quality=75),
        "cmyk.jpg": encode(pic.convert("CMYK"), "JPEG", quality=75),
        "subsampling444.jpg": encode(pic, "JPEG", quality=75, subsampling=0),
        "rgb.png": encode(pic, "PNG"),
        "rgba.png": encode(pic.convert("RGBA"), "PNG"),
        "gray.png": encode(pic.convert("L"), "PNG"),
        "palette.png": encode(pic.convert("P"), "PNG"),
        "gray_alpha.png": encode(pic.convert("LA"), "PNG"),
        "gray16.png": encode(Image.fromarray((np.asarray(pic.convert("L"), dtype=np.uint16) * 257)), "PNG"),
        "declares_huge.jpg": jpeg_with_declared_size(encode(pic, "JPEG", quality=75), 65500, 65500),
        "declares_huge.png": png_with_declared_size(encode(pic, "PNG"), 65500, 65500),
        "truncated.jpg": encode(pic, "JPEG", quality=75)[:150],
    }
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW
    seeds["exif_rotated.jpg"] = encode(pic, "JPEG", quality=75, exif=exif.tobytes())
    arith = arithmetic_jpeg(seeds["baseline.jpg"])
    if arith is not None:
        seeds["arithmetic.jpg"] = arith
    for name, blob in seeds.items():
        put(os.path.join(idir, name), blob)


def main():
    base = images()
    folders(base)
    profile()
    st = safetensors()
    fuzz_seeds(st, base)
    total = 0
    for top in (HERE, FUZZ):
        for dirpath, _, names in os.walk(top):
            total += sum(os.path.getsize(os.path.join(dirpath, n)) for n in names)
    print("corpus written: %d bytes in tests/corpus and fuzz/corpus" % total)


if __name__ == "__main__":
    main()
