#!/usr/bin/python3
# bench_data_pil.py: the reference for `springfield bench data`: the seed's PIL + torchvision pipeline on
# one core, over the image list the C bench wrote. Prints one JSON line per case:
#   decode            Image.open(p).convert("RGB") (forces the full decode)
#   pipeline S        open -> RandomRotation(15, expand=True) -> RandomHorizontalFlip -> RandomResizedCrop(S)
#                     -> ToTensor -> Normalize(ImageNet)
# Each case runs REPS times over the list; the median wall and CPU (process_time) times are reported.
# usage: bench_data_pil.py LIST_FILE REPS SIZE [SIZE ...]
import json
import statistics
import sys
import time

import torch
import torchvision.transforms as T
from PIL import Image

torch.set_num_threads(1)
paths = [line.rstrip("\n") for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
reps = int(sys.argv[2])
sizes = [int(s) for s in sys.argv[3:]]


def timed(fn):
    for p in paths[:10]:  # warm-up: imports, allocator, file cache
        fn(p)
    wall, cpu = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        for p in paths:
            fn(p)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def decode(p):
    with Image.open(p) as im:
        im.convert("RGB")


def report(case, size, secs):
    print(json.dumps({"case": case, "size": size, "images": len(paths), "seconds": secs[0],
                      "img_per_s": len(paths) / secs[0], "img_per_cpu_s": len(paths) / secs[1]}), flush=True)


report("decode", 0, timed(decode))
for s in sizes:
    tf = T.Compose([T.RandomRotation(15, expand=True), T.RandomHorizontalFlip(), T.RandomResizedCrop(s),
                    T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])

    def pipeline(p):
        with Image.open(p) as im:
            tf(im.convert("RGB"))

    report("pipeline", s, timed(pipeline))
