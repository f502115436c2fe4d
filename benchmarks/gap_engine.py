"""Benchmark the gap analysis as an agent runs it, against the physical floor, in one run.

Per size, three whole processes, interleaved round by round so they share the box's load:
  floor       a Python process that imports pyarrow, parses the same inference.csv (the four used
              columns, types given) and sorts the score column (what no implementation can avoid)
  gap_analysis  `tao-skills gap_analysis vcn_aoi --engine local` (the engine: the container's command)
  gaps run    `tao-skills gaps run --engine local` (the agent's command: finds the inputs, checks
              image paths, writes the spec, runs the engine, draws the plot, prints the summary)
and, at --reference-rows, the reference (nvidia-tao-ds of versions.yaml's release, `vcn_aoi`, run once: it takes ~40 s
at 20k rows) plus the threshold sweep alone, in process, ours vs the reference's.

Inputs: ~98 % unique scores, 80 % PASS, three defect labels, 4 lightings, top_k_per_label 50;
images exist for the rows `gaps run` samples. Wall time is the best of --repeat rounds; peak RSS
is that run's (os.wait4, per child). Targets (2 cores): at 10M rows `gaps run` <= 1.5x the floor
and <= 2 GiB peak RSS, `gap_analysis` <= 1.3x the floor; at the reference size `gaps run` >= 50x
faster than the reference.

    .venv/bin/python benchmarks/gap_engine.py                  # 20k, 1M, 10M + reference at 20k
    .venv/bin/python benchmarks/gap_engine.py --sizes 1M --no-reference --json
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
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
ORACLE_DEPS = ["pandas", "pyarrow", "pyyaml", "omegaconf==2.3.0", "hydra-core==1.3.2"]
LIGHTINGS = ["LowAngleLight", "SolderLight", "UniformLight", "WhiteLight"]
PATH_SAMPLE_ROWS = 50            # rows `gaps run` samples for its image-path preflight (evenly spread)
# The floor parses exactly what the engine needs (the four used columns, types given, no inference):
# a floor that inferred types or parsed the unused columns would flatter us.
FLOOR_CODE = ("import sys\nimport pyarrow as pa, pyarrow.compute as pc\nfrom pyarrow import csv\n"
              "cols = ['input_path', 'object_name', 'label', 'siamese_score']\n"
              "types = {c: pa.string() for c in cols[:3]} | {'siamese_score': pa.float64()}\n"
              "table = csv.read_csv(sys.argv[1], convert_options=csv.ConvertOptions(include_columns=cols, "
              "column_types=types))\npc.sort_indices(table.column('siamese_score'))\n")
# (command, rows) -> (max ratio to the floor, max peak RSS MiB or None)
TARGETS = {("gaps run", 10_000_000): (1.5, 2048), ("gap_analysis", 10_000_000): (1.3, None)}
REFERENCE_SPEEDUP_TARGET = 50


def oracle_steps() -> list[list[str]]:
    """The gap oracle recipe: nvidia-tao-ds of the release in versions.yaml (tao_version)."""
    sys.path.insert(0, str(REPO / "src"))
    from tao_skill_bank.versions import load_versions, release_wheel

    return [["--no-deps", release_wheel(load_versions(REPO), "nvidia-tao-ds")], ORACLE_DEPS]


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def in_child(function: str, *args: str) -> str:
    """Run one of this file's functions in a child process and return its stdout. The parent never
    imports numpy/pyarrow or holds data: Linux reports a child's peak RSS as at least the parent's
    peak at the moment it forked, which would inflate every figure."""
    return subprocess.run([sys.executable, __file__, "--call", function, *args], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.strip()


def make_experiment(root: Path, n: int, seed: int = 0) -> Path:
    """EXP/inference/inference.csv + EXP/train.yaml with n rows, and EXP/images/ holding the images
    of the rows the preflight samples (cached by size)."""
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
    index = np.arange(n)
    table = pa.table({
        "input_path": pc.binary_join_element_wise("lot", pc.cast(pa.array(index % 200), pa.string()), ""),
        "object_name": pc.binary_join_element_wise("C", pc.cast(pa.array(index), pa.string()), ""),
        "label": pa.array(labels),
        "siamese_score": pa.array(scores),
    })
    tmp = folder / "inference" / "inference.csv.tmp"
    csv.write_csv(table, tmp)
    tmp.rename(folder / "inference" / "inference.csv")
    (folder / "train.yaml").write_text("dataset:\n  classify:\n    input_map:\n" +
                                       "".join(f"      {l}: {i}\n" for i, l in enumerate(LIGHTINGS)) +
                                       "    image_ext: .png\n")
    step = (n - 1) / (PATH_SAMPLE_ROWS - 1) if n > PATH_SAMPLE_ROWS else 1
    for row in sorted({round(i * step) for i in range(min(n, PATH_SAMPLE_ROWS))}):
        images = folder / "images" / f"lot{row % 200}"
        images.mkdir(parents=True, exist_ok=True)
        for lighting in LIGHTINGS:
            (images / f"C{row}_{lighting}.png").write_bytes(b"")
    return folder


class Run(NamedTuple):
    command: str
    rows: int
    wall_s: float
    peak_rss_mib: float
    exit: int


def timed_process(cmd: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, exit code) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode not in (0, 4):
        sys.stderr.write(stderr.decode(errors="replace")[-2000:])
    return wall, usage.ru_maxrss / 1024, proc.returncode


def compile_package() -> None:
    """Byte-compile the package once, as `pip install` does for a wheel: with PYTHONDONTWRITEBYTECODE
    set (or an editable install never imported before) every run would compile it again."""
    import compileall

    sys.path.insert(0, str(REPO / "src"))
    import tao_skill_bank

    compileall.compile_dir(str(Path(tao_skill_bank.__file__).parent), quiet=1)


def tao_skills() -> list[str]:
    """The console script the agent calls, else the module."""
    script = Path(sys.executable).parent / "tao-skills"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "tao_skill_bank"]


def container_keys(folder: Path, out: Path) -> list[str]:
    return [f"inference_results_dir={folder / 'inference'}", f"train_config={folder / 'train.yaml'}",
            f"results_dir={out}", f"kpi_media_path={folder / 'images'}", "top_k_per_label=50"]


def commands(folder: Path, scratch: Path) -> dict[str, list[str]]:
    """A fresh output folder per call: every run writes a new results folder, as it must."""
    def out() -> Path:
        return Path(tempfile.mkdtemp(dir=scratch)) / "out"

    return {
        "floor": [sys.executable, "-c", FLOOR_CODE, str(folder / "inference" / "inference.csv")],
        "gap_analysis": [*tao_skills(), "gap_analysis", "vcn_aoi", "--engine", "local", *container_keys(folder, out())],
        "gaps run": [*tao_skills(), "gaps", "run", "--exp-dir", str(folder), "--dataset-root", str(folder / "images"),
                     "--engine", "local", "--top-k", "50", "--out", str(out())],
    }


def measure(folder: Path, n: int, scratch: Path, repeat: int) -> list[Run]:
    """Best of `repeat` interleaved rounds per command."""
    best: dict[str, Run] = {}
    for _ in range(repeat):
        for name, cmd in commands(folder, scratch).items():
            wall, rss, code = timed_process(cmd)
            if name not in best or wall < best[name].wall_s:
                best[name] = Run(name, n, wall, rss, code)
    return list(best.values())


def run_reference(oracle: Path, folder: Path, out: Path) -> Run:
    wall, rss, code = timed_process([str(oracle), "-m", "nvidia_tao_ds.rcca.gap_analysis.scripts.vcn_aoi",
                                     *container_keys(folder, out)])
    return Run(f"reference {oracle_steps()[0][1]}", 0, wall, rss, code)


def sweep_ours(folder: Path, repeats: int = 20) -> float:
    """Best-of-N seconds of the threshold sweep on arrays already in memory."""
    import numpy as np
    import pyarrow.compute as pc
    from pyarrow import csv

    sys.path.insert(0, str(REPO / "src"))
    from tao_skill_bank.gaps.maths import choose_threshold

    table = csv.read_csv(folder / "inference" / "inference.csv")
    scores = np.asarray(table.column("siamese_score").to_numpy(), dtype=np.float64)
    labels = pc.utf8_upper(pc.utf8_trim_whitespace(table.column("label").cast("string")))
    is_pass = np.asarray(pc.equal(labels, "PASS").to_numpy(zero_copy_only=False))
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


def judge(runs: list[Run]) -> list[dict]:
    """Each run with its ratio to the floor of the same size and, where a target exists, met or not."""
    floors = {r.rows: r.wall_s for r in runs if r.command == "floor"}
    rows = []
    for r in runs:
        floor = floors.get(r.rows)
        ratio = r.wall_s / floor if floor and r.command != "floor" else None
        target = TARGETS.get((r.command, r.rows))
        met = None
        text = ""
        if target is not None and ratio is not None:
            max_ratio, max_rss = target
            met = ratio <= max_ratio and (max_rss is None or r.peak_rss_mib <= max_rss)
            text = f"<= {max_ratio}x floor" + (f", RSS <= {max_rss / 1024:g} GiB" if max_rss else "")
        if r.exit not in (0, 4):  # a failed run measures nothing
            met, text = False, f"FAILED (exit {r.exit})"
        rows.append({**r._asdict(), "x_floor": ratio, "target": text, "met": met})
    return rows


def markdown(report: dict) -> str:
    lines = [f"Gap analysis benchmark ({report['cpus']} CPUs, Python {report['python']}, best of "
             f"{report['repeat']}, load average {report['load_before']:.1f} before / {report['load_after']:.1f} after)",
             "", "| rows | command | wall s | × floor | peak RSS MiB | target | met |", "|---:|---|---:|---:|---:|---|---|"]
    for r in report["runs"]:
        ratio = "" if r["x_floor"] is None else f"{r['x_floor']:.2f}"
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        rows = f"{r['rows']:,}" if r["rows"] else f"{report['reference'].get('rows', 0):,}"
        lines.append(f"| {rows} | {r['command']} | {r['wall_s']:.2f} | {ratio} | {r['peak_rss_mib']:.0f} | "
                     f"{r['target']} | {met} |")
    c = report["reference"]
    if c:
        lines.append("")
        lines.append(f"At {c['rows']:,} rows the reference takes {c['reference_s']:.1f} s: `gaps run` is "
                     f"{c['gaps_run_speedup']:.0f}x faster (target >= {REFERENCE_SPEEDUP_TARGET}x: "
                     f"{'yes' if c['gaps_run_speedup'] >= REFERENCE_SPEEDUP_TARGET else 'NO'}), `gap_analysis` "
                     f"{c['gap_analysis_speedup']:.0f}x; the threshold sweep alone {c['sweep_ours_s'] * 1e3:.2f} ms "
                     f"vs {c['sweep_reference_s']:.2f} s ({c['sweep_speedup']:,.0f}x).")
    else:
        lines.append("\nReference not run (no oracle venv; pass --build-oracle to build it).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1M,10M", help="comma-separated row counts (k/M suffixes)")
    parser.add_argument("--reference-rows", default="20k", help="rows for the reference comparison")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per size; the best wall time is reported")
    parser.add_argument("--no-reference", action="store_true", help="skip the nvidia-tao-ds reference run")
    parser.add_argument("--build-oracle", action="store_true", help="build the reference venv when missing")
    parser.add_argument("--workdir", type=Path, help="where generated inputs are cached (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--call", nargs="+", help=argparse.SUPPRESS)  # internal: see in_child
    args = parser.parse_args(argv)
    if args.call:
        function, *call_args = args.call
        if function == "make_experiment":
            print(make_experiment(Path(call_args[0]), int(call_args[1])))
        elif function == "sweep_ours":
            print(sweep_ours(Path(call_args[0])))
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gap-bench-"))
    scratch = Path(tempfile.mkdtemp(prefix="runs-", dir=workdir))
    compile_package()
    load_before = os.getloadavg()[0]
    oracle = None if args.no_reference else oracle_python(args.build_oracle)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    reference_rows = parse_size(args.reference_rows)
    if oracle is not None and reference_rows not in sizes:
        sizes.insert(0, reference_rows)
    runs: list[Run] = []
    for n in sizes:
        folder = Path(in_child("make_experiment", str(workdir), str(n)))
        measured = measure(folder, n, scratch, args.repeat)
        runs.extend(measured)
        print(f"{n:>10,} rows: " + ", ".join(f"{r.command} {r.wall_s:.2f} s / {r.peak_rss_mib:.0f} MiB"
                                            for r in measured), file=sys.stderr)
    comparison = {}
    if oracle is not None:
        folder = Path(in_child("make_experiment", str(workdir), str(reference_rows)))
        reference = run_reference(oracle, folder, Path(tempfile.mkdtemp(dir=scratch)) / "out")
        ours = {r.command: r.wall_s for r in runs if r.rows == reference_rows}
        runs.append(reference)
        sweep_mine = float(in_child("sweep_ours", str(folder)))
        sweep_ref = sweep_reference(oracle, folder, Path(tempfile.mkdtemp(dir=scratch)))
        comparison = {"rows": reference_rows, "reference_s": reference.wall_s, "reference_exit": reference.exit,
                      "gaps_run_speedup": reference.wall_s / ours["gaps run"],
                      "gap_analysis_speedup": reference.wall_s / ours["gap_analysis"],
                      "speedup_target": REFERENCE_SPEEDUP_TARGET, "sweep_ours_s": sweep_mine,
                      "sweep_reference_s": sweep_ref, "sweep_speedup": sweep_ref / sweep_mine}
    report = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "repeat": args.repeat,
              "load_before": load_before, "load_after": os.getloadavg()[0], "runs": judge(runs),
              "reference": comparison}
    print(json.dumps(report) if args.json else markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
