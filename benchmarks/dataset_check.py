#!/usr/bin/env python3
"""`dataset check` on a large split, as a ratio to the floor.

Builds a split of N rows (4 lightings, input + golden: 8 images a row, 50 rows per folder) and
times, in the same run: the floor — `pd.read_csv` of the CSV plus one `os.scandir` of every image
folder (what any checker must do) — and `check_split(..., action="train")` (both loaders' parses,
vectorised path joins and membership, 256 image headers). Prints medians (CPU time too: the box
is shared) and the ratio.

    .venv/bin/python benchmarks/dataset_check.py [--rows 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

LIGHTS = ["LowAngleLight", "SolderLight", "UniformLight", "WhiteLight"]


def build(root: Path, rows: int) -> Path:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    data = buffer.getvalue()
    images = root / "images" / "images"
    lines = ["input_path,golden_path,object_name,label"]
    for i in range(rows):
        board, golden, name = f"board_{i // 50:05d}/C{i % 7}", f"golden/C{i // 50:05d}", f"R{i}"
        for folder in (board, golden):
            (images / folder).mkdir(parents=True, exist_ok=True)
            for light in LIGHTS:
                (images / folder / f"{name}_{light}.png").write_bytes(data)
        lines.append(f"{board},{golden},{name},{'PASS' if i % 5 else 'NO_PASS'}")
    (root / "dataset.csv").write_text("\n".join(lines) + "\n")
    return root


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(fn, runs: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), _cpu()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import pandas as pd

    from tao_skill_bank.oi.datasets import check_split

    with tempfile.TemporaryDirectory(prefix="bench-dataset-") as tmp:
        split = build(Path(tmp) / "train", args.rows)
        images = split / "images" / "images"

        def floor() -> None:
            frame = pd.read_csv(split / "dataset.csv", dtype={"object_name": str})
            for folder in pd.unique(pd.concat([frame["input_path"], frame["golden_path"]])):
                with os.scandir(images / folder) as entries:
                    {e.name for e in entries if e.is_file()}

        def check() -> None:
            report = check_split(split, action="train", batch_size=8)
            assert report.ok, [f.one_line() for f in report.errors]

        check()   # warm imports and the page cache for both
        floor_wall, floor_cpu = timed(floor, args.runs)
        check_wall, check_cpu = timed(check, args.runs)
    files = args.rows * len(LIGHTS) * 2
    print(f"rows {args.rows}, image paths {files}")
    print(f"floor (read_csv + scandir per folder): wall {floor_wall * 1000:.0f} ms, cpu {floor_cpu * 1000:.0f} ms")
    print(f"check_split --action train:            wall {check_wall * 1000:.0f} ms, cpu {check_cpu * 1000:.0f} ms")
    print(f"ratio to floor: wall {check_wall / floor_wall:.1f}x, cpu {check_cpu / floor_cpu:.1f}x")


if __name__ == "__main__":
    main()
