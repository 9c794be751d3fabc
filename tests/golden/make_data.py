#!/usr/bin/python3
# make_data.py: goldens for the data pipeline (tests/test_data_resize.c, tests/test_data_augment.c).
# PIL's Image.resize (BILINEAR, BICUBIC; antialiased when downscaling) on small deterministic RGB images,
# torchvision's evaluation transform Resize((S,S)) + ToTensor + Normalize, and a JPEG round trip through
# PIL (tests/test_data_image.c).
# Run from the repository root: /usr/bin/python3 tests/golden/make_data.py
import io
import os
import numpy as np
from PIL import Image
import torchvision.transforms as T

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
os.makedirs(OUT, exist_ok=True)


def save(name, arr, dtype=np.float32):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(arr.astype(dtype)))


def make_input(w, h, seed):
    # Smooth gradients plus sharp edges plus noise, so that every tap of the filters matters.
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([255 * x / max(w - 1, 1), 255 * y / max(h - 1, 1),
                    127.5 + 127.5 * np.sin(x * 0.7) * np.cos(y * 0.3)], axis=-1)
    img[(x // 5 + y // 5) % 2 == 0] *= 0.5
    img += rng.normal(0, 20, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


CASES = [  # (w, h, ow, oh)
    (37, 29, 13, 17), (37, 29, 60, 45), (37, 29, 37, 10), (37, 29, 100, 29),
    (160, 120, 24, 18), (160, 120, 96, 96), (64, 80, 64, 80), (37, 29, 64, 64),
]

for i, (w, h, ow, oh) in enumerate(CASES):
    src = make_input(w, h, i)
    save(f"resize_{i}_in", src)
    for name, flt in (("bilinear", Image.BILINEAR), ("bicubic", Image.BICUBIC)):
        out = np.asarray(Image.fromarray(src).resize((ow, oh), flt))
        save(f"resize_{i}_{name}", out)

# Evaluation transform: (3,S,S) float, as the seed's validation pipeline.
src = make_input(120, 90, 99)
save("eval_in", src)
tf = T.Compose([T.Resize((64, 64)), T.ToTensor(),
                T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
save("eval_64", tf(Image.fromarray(src)).numpy())
# Canvas size of PIL's rotate(angle, expand=True): rows (w, h, angle, new_w, new_h).
rows = []
for (w, h) in ((100, 80), (37, 29), (128, 171), (1, 1)):
    for angle in (-15.0, -7.3, 0.0, 0.5, 9.99, 15.0, 90.0):
        nw, nh = Image.new("RGB", (w, h)).rotate(angle, expand=True).size
        rows.append((w, h, angle, nw, nh))
save("rotate_sizes", np.array(rows))
# JPEG round trip: saved by PIL at quality 90 (its default 4:2:0 subsampling), decoded by PIL.
for i, (w, h) in enumerate(((64, 48), (37, 29))):
    src = make_input(w, h, 50 + i)
    save(f"jpeg90_{i}_in", src)
    buf = io.BytesIO()
    Image.fromarray(src).save(buf, "JPEG", quality=90)
    save(f"jpeg90_{i}_out", np.asarray(Image.open(buf).convert("RGB")))
print("wrote", len(os.listdir(OUT)), "files to", OUT)
