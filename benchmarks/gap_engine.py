"""Benchmark the gap-analysis engine: whole process (`tao-skills gap_analysis vcn_aoi --engine
local`) at 10k..10M rows, the reference (nvidia-tao-ds of versions.yaml's release) at 20k rows side by side when its
oracle venv exists, and the threshold sweep alone, in process, ours vs the reference's.

Inputs: ~98 % unique scores, 80 % PASS, three defect labels, 4 lightings, top_k_per_label 50.
Prints a markdown table (and --json). Wall time is the best of --repeat runs (the box may be
shared); peak RSS is that run's, per child process (os.wait4).

    .venv/bin/python benchmarks/gap_engine.py                 # 10k, 100k, 1M, 10M + reference
    .venv/bin/python benchmarks/gap_engine.py --sizes 10k,1M --no-reference
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ORACLE_DEPS = ["pandas", "pyarrow", "pyyaml", "omegaconf==2.3.0", "hydra-core==1.3.2"]


def oracle_steps() -> list[list[str]]:
    """The gap oracle recipe: nvidia-tao-ds of the release in versions.yaml (tao_version)."""
    from tao_skill_bank.versions import load_versions, release_wheel

    return [["--no-deps", release_wheel(load_versions(REPO), "nvidia-tao-ds")], ORACLE_DEPS]
LIGHTINGS = ["LowAngleLight", "SolderLight", "UniformLight", "WhiteLight"]
TARGETS = {1_000_000: ("<= 2 s", 2.0), 10_000_000: ("<= 12 s, RSS <= 3 GiB", 12.0)}


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def make_experiment(root: Path, n: int, seed: int = 0) -> Path:
    """inference.csv + train.yaml with n rows (cached by size)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv

    folder = root / f"rows_{n}"
    if (folder / "inference" / "inference.csv").is_file():
        return folder
    (folder / "inference").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pool = rng.random(max(1, int(n * 0.98)))               # 98 % distinct values ...
    scores = np.concatenate([pool, rng.choice(pool, n - len(pool))])  # ... 2 % repeats
    rng.shuffle(scores)
    labels = np.where(rng.random(n) < 0.8, "PASS", rng.choice(["SCRATCH", "MISSING", "SOLDER_BRIDGE"], n))
    index = pa.array(np.arange(n))
    table = pa.table({
        "input_path": pc.binary_join_element_wise("lot", pc.cast(pa.array(np.arange(n) % 200), pa.string()), ""),
        "object_name": pc.binary_join_element_wise("C", pc.cast(index, pa.string()), ""),
        "label": pa.array(labels),
        "siamese_score": pa.array(scores),
    })
    tmp = folder / "inference" / "inference.csv.tmp"
    csv.write_csv(table, tmp)
    tmp.rename(folder / "inference" / "inference.csv")
    (folder / "train.yaml").write_text("dataset:\n  classify:\n    input_map:\n" +
                                       "".join(f"      {l}: {i}\n" for i, l in enumerate(LIGHTINGS)) +
                                       "    image_ext: .png\n")
    return folder


def timed_process(cmd: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, exit code) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 4):
        sys.stderr.write(proc.stderr.read().decode(errors="replace")[-2000:])
    proc.stderr.close()
    return wall, usage.ru_maxrss / 1024, proc.returncode


def keys(folder: Path, out: Path) -> list[str]:
    return [f"inference_results_dir={folder / 'inference'}", f"train_config={folder / 'train.yaml'}",
            f"results_dir={out}", f"kpi_media_path={folder / 'media'}", "top_k_per_label=50"]


def run_ours(folder: Path, workdir: Path, repeat: int = 1) -> tuple[float, float, int]:
    """Best wall time of `repeat` runs (each into a fresh results folder) and that run's RSS."""
    runs = [timed_process([sys.executable, "-m", "tao_skill_bank", "gap_analysis", "vcn_aoi", "--engine", "local",
                           *keys(folder, Path(tempfile.mkdtemp(dir=workdir)) / "out")]) for _ in range(repeat)]
    return min(runs)


def run_reference(oracle: Path, folder: Path, out: Path) -> tuple[float, float, int]:
    return timed_process([str(oracle), "-m", "nvidia_tao_ds.rcca.gap_analysis.scripts.vcn_aoi", *keys(folder, out)])


def sweep_ours(folder: Path, repeats: int = 20) -> float:
    """Best-of-N seconds of choose_threshold on arrays already in memory."""
    import numpy as np
    from pyarrow import csv

    from tao_skill_bank.gaps.maths import choose_threshold

    table = csv.read_csv(folder / "inference" / "inference.csv")
    scores = np.asarray(table.column("siamese_score").to_numpy(), dtype=np.float64)
    is_pass = np.asarray([str(v).strip().upper() == "PASS" for v in table.column("label").to_pylist()])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        choose_threshold(scores, is_pass, 1.0)
        best = min(best, time.perf_counter() - start)
    return best


def sweep_reference(oracle: Path, folder: Path, out: Path) -> float:
    """Seconds of one compute_vcn_optimal_threshold call inside an already-started interpreter."""
    code = textwrap.dedent(f'''
        import logging, time
        logging.disable(logging.CRITICAL)
        from nvidia_tao_ds.rcca.gap_analysis.scripts.vcn_aoi import compute_vcn_optimal_threshold
        start = time.perf_counter()
        compute_vcn_optimal_threshold({str(folder / "inference")!r}, {str(out / "thr.txt")!r}, 1.0)
        print(time.perf_counter() - start)
        ''')
    return float(subprocess.run([str(oracle), "-c", code], check=True, capture_output=True, text=True).stdout)


def oracle_python(build: bool) -> Path | None:
    sys.path.insert(0, str(REPO / "src"))
    from tao_skill_bank.errors import UserError
    from tao_skill_bank.venvs import ensure_venv

    cache = Path(os.environ.get("TAO_SKILL_BANK_CACHE", REPO / ".cache"))
    if not build and not any(cache.glob("oracle-tao-ds-*")):
        return None
    try:
        return ensure_venv("oracle-tao-ds", oracle_steps(), cache_root=cache)
    except UserError as err:
        print(f"reference skipped: {err.one_line()}", file=sys.stderr)
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k,1M,10M", help="comma-separated row counts (k/M suffixes)")
    parser.add_argument("--reference-rows", default="20k", help="rows for the reference comparison")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best wall time is reported")
    parser.add_argument("--no-reference", action="store_true", help="skip the nvidia-tao-ds reference runs")
    parser.add_argument("--build-oracle", action="store_true", help="build the reference venv when missing")
    parser.add_argument("--workdir", type=Path, help="where generated inputs are cached (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gap-bench-"))
    rows_out = []
    for n in (parse_size(s) for s in args.sizes.split(",")):
        folder = make_experiment(workdir, n)
        wall, rss, code = run_ours(folder, workdir, args.repeat)
        target = TARGETS.get(n)
        met = None if target is None else (wall <= target[1] and (n < 10_000_000 or rss <= 3072))
        rows_out.append({"rows": n, "engine": "tao-skills local", "wall_s": wall, "rows_per_s": n / wall,
                         "peak_rss_mib": rss, "exit": code, "target": target[0] if target else "", "met": met})
        print(f"{n:>10} rows: {wall:.2f} s, {rss:.0f} MiB", file=sys.stderr)
    comparison = {}
    oracle = None if args.no_reference else oracle_python(args.build_oracle)
    if oracle is not None:
        n = parse_size(args.reference_rows)
        folder = make_experiment(workdir, n)
        ours_wall, ours_rss, _ = run_ours(folder, workdir, args.repeat)
        ref_wall, ref_rss, ref_code = run_reference(oracle, folder, Path(tempfile.mkdtemp(dir=workdir)) / "out")
        for engine, wall, rss, code in (("tao-skills local", ours_wall, ours_rss, 0),
                                        (f"reference {oracle_steps()[0][1]}", ref_wall, ref_rss, ref_code)):
            rows_out.append({"rows": n, "engine": engine, "wall_s": wall, "rows_per_s": n / wall, "peak_rss_mib": rss,
                             "exit": code, "target": "", "met": None})
        ours_sweep = sweep_ours(folder)
        ref_sweep = sweep_reference(oracle, folder, Path(tempfile.mkdtemp(dir=workdir)))
        comparison = {"rows": n, "whole_process_speedup": ref_wall / ours_wall, "whole_process_target": 25,
                      "sweep_ours_s": ours_sweep, "sweep_reference_s": ref_sweep,
                      "sweep_speedup": ref_sweep / ours_sweep, "sweep_target": 1000}
    if args.json:
        print(json.dumps({"cpus": os.cpu_count(), "runs": rows_out, "reference": comparison}))
        return 0
    print(f"Gap engine benchmark ({os.cpu_count()} CPUs, Python {sys.version.split()[0]}, best of {args.repeat})\n")
    print("| rows | engine | wall s | rows/s | peak RSS MiB | target | met |")
    print("|---:|---|---:|---:|---:|---|---|")
    for r in rows_out:
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        print(f"| {r['rows']:,} | {r['engine']} | {r['wall_s']:.2f} | {r['rows_per_s']:,.0f} | "
              f"{r['peak_rss_mib']:.0f} | {r['target']} | {met} |")
    if comparison:
        c = comparison
        print(f"\nAt {c['rows']:,} rows: whole process {c['whole_process_speedup']:.0f}x faster than the reference "
              f"(target >= 25x: {'yes' if c['whole_process_speedup'] >= 25 else 'NO'}); threshold sweep alone "
              f"{c['sweep_ours_s'] * 1e3:.2f} ms vs {c['sweep_reference_s']:.2f} s = {c['sweep_speedup']:,.0f}x "
              f"(target >= 1000x: {'yes' if c['sweep_speedup'] >= 1000 else 'NO'}).")
    else:
        print("\nReference not run (no oracle venv; pass --build-oracle to build it).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
