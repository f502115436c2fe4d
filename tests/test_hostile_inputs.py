"""The hostile-input matrix: every command that reads a user YAML, JSON, CSV or `key=value`
override x every hostile kind of that input -> one `error:` line, a non-zero exit that is not
70 (internal error), no traceback, and nothing written anywhere under the test folder.

Commands run in-process through `cli.main` (the same path as the console script, without a
Python start-up per case); a few run as real subprocesses too, for the exit code a shell sees."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

import support
from tao_skill_bank import cli

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(9))
BIG = 100 * 1024 * 1024

# ---------------------------------------------------------------- hostile contents per input kind


def _sparse(path: Path, head: bytes, size: int = BIG) -> None:
    """A 100 MB file that costs no disk: `head`, then a hole."""
    with open(path, "wb") as handle:
        handle.write(head)
        handle.truncate(size)


YAML_KINDS = {
    "alias bomb": lambda p: p.write_text(BILLION_LAUGHS),
    "100k-deep": lambda p: p.write_text("a: " + "[" * 100_000 + "]" * 100_000 + "\n"),
    "non-UTF-8": lambda p: p.write_bytes(b"dataset:\n  name: caf\xe9\n"),
    "100 MB": lambda p: _sparse(p, b"a: 1\n#"),
    "huge int": lambda p: p.write_text("top_k_per_label: " + "9" * 5000 + "\n"),
    "python tag": lambda p: p.write_text("a: !!python/object/apply:os.system [echo pwned]\n"),
}
JSON_KINDS = {
    "100k-deep": lambda p: p.write_text("[" * 100_000 + "]" * 100_000),
    "huge int": lambda p: p.write_text('{"n_samples": ' + "9" * 5000 + "}"),
    "non-UTF-8": lambda p: p.write_bytes(b'{"note": "caf\xe9"}'),
    "100 MB": lambda p: _sparse(p, b'{"a": "'),
    "lone surrogate": lambda p: p.write_text('{"samples": [{"note": "\\ud800"}]}'),
}
CSV_HEADER = "input_path,object_name,label,siamese_score\n"
CSV_KINDS = {
    "non-UTF-8": lambda p: p.write_bytes((CSV_HEADER + "d,o1,PASS,0.1\nd,o2,caf\xe9,0.9\n").encode("latin-1")),
    "oversized field": lambda p: p.write_text(CSV_HEADER + "d,o1,PASS,0.1\nd,o2," + "X" * (20 * 1024 * 1024) + ",0.9\n"),
}
OVERRIDE_KINDS = {
    "huge int": "top_k_per_label=" + "9" * 5000,
    "5,000-part dotted key": ".".join(["a"] * 5000) + "=1",
    "interpolation": "kpi_media_path=${oc.env:HOME}",
    "100k-char value": "min_recall=" + "1" * 100_000,
}
SET_KINDS = {
    "alias bomb": "dataset.batch_size=[" + ", ".join(["&a [x, x, x, x, x, x, x, x, x, x]"] + ["*a"] * 20000) + "]",
    "100k-deep": "dataset.batch_size=" + "[" * 100_000,
    "huge int": "train.num_epochs=" + "9" * 5000,
    "5,000-part dotted key": ".".join(["a"] * 5000) + "=1",
    "python tag": "train.num_epochs=!!python/object/apply:os.system [id]",
    "interpolation": "train.results_dir=${oc.env:HOME}",
}


# ---------------------------------------------------------------- the world each command reads


def _experiment(root: Path) -> dict:
    inference = root / "inference"
    inference.mkdir(parents=True)
    with open(inference / "inference.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["input_path", "object_name", "label", "siamese_score"])
        for i in range(40):
            writer.writerow([f"lot{i % 3}", f"C{i:05d}", ["PASS", "SCRATCH", "MISSING"][i % 3], f"{(i * 37 % 40) / 40:.3f}"])
    train = root / "train.yaml"
    train.write_text(yaml.safe_dump({"dataset": {"classify": {"input_map": {"A": 0, "B": 1}, "image_ext": ".png"}}}))
    spec = root / "vcn_aoi.yaml"
    spec.write_text(yaml.safe_dump({"inference_results_dir": str(inference), "train_config": str(train),
                                    "results_dir": str(root / "rca_results" / "x")}))
    (root / "images").mkdir()
    return {"root": root, "inference": inference, "csv": inference / "inference.csv", "train": train, "spec": spec}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One finished local run (results folder) to copy per case."""
    root = tmp_path_factory.mktemp("finished")
    exp = _experiment(root / "exp")
    out = root / "exp" / "rca_results" / "done"
    code, err = _main("gap_analysis", "vcn_aoi", "--engine", "local", f"inference_results_dir={exp['inference']}",
                      f"train_config={exp['train']}", f"results_dir={out}")
    assert code == 0, err
    return out


def _main(*args) -> tuple[int, str]:
    import contextlib
    import io

    stderr, stdout = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
        try:
            code = cli.main([str(a) for a in args])
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 1
    return code, stderr.getvalue()


def _tree(root: Path) -> dict:
    """Every path below root; files with size and mtime (a folder's mtime may change when a
    refused run claims and releases its results folder: what matters is what is left)."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else "dir"
            for p in sorted(root.rglob("*")) if not p.is_symlink()}


def _assert_refused(root: Path, before: dict, code: int, stderr: str, case: str) -> None:
    assert code not in (0, 70), (case, code, stderr[-500:])
    assert "Traceback" not in stderr and "internal error" not in stderr, (case, stderr[-500:])
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, (case, stderr[-800:])
    assert len(lines[0]) < 2000, (case, lines[0][:300])
    after = _tree(root)
    # nothing written: no file or folder added (a released claim removes the folders it made), none changed
    added = set(after) - set(before)
    assert not added and {p: v for p, v in after.items() if p in before} == before, (case, set(after) ^ set(before))


def _oi_split(root: Path) -> Path:
    split = root / "split"
    (split / "images").mkdir(parents=True)
    (split / "dataset.csv").write_text("input_path,golden_path,object_name,label\nimages,images,o1,PASS\n")
    return split


def _oi_spec(root: Path) -> Path:
    spec = root / "ws" / "spec.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_text(yaml.safe_dump({"results_dir": str(root / "ws" / "results"), "train": {"num_epochs": 1}}))
    return spec


def _gap_analysis_argv(exp, root):
    return ["gap_analysis", "vcn_aoi", "--engine", "local", "-e", exp["spec"]]


def _gap_train_argv(exp, root):
    return ["gap_analysis", "vcn_aoi", "--engine", "local", f"inference_results_dir={exp['inference']}",
            f"train_config={exp['train']}", f"results_dir={root / 'out'}"]


def _gaps_run_argv(exp, root):
    return ["gaps", "run", "--exp-dir", exp["root"], "--dataset-root", exp["root"] / "images",
            "--inference-dir", exp["inference"], "--train-config", exp["train"], "--engine", "local"]


def _on_experiment(file_key: str, argv):
    """A case builder: a fresh experiment, the hostile content planted as its `file_key` file."""
    def build(root, plant):
        exp = _experiment(root / "exp")
        plant(exp[file_key])
        return argv(exp, root)
    return build


_yaml_gap_spec = _on_experiment("spec", _gap_analysis_argv)
_yaml_gap_train = _on_experiment("train", _gap_train_argv)
_yaml_gaps_run = _on_experiment("train", _gaps_run_argv)


def _yaml_spec_validate(root, plant):
    spec = _oi_spec(root)
    plant(spec)
    return ["spec", "validate", spec, "--skill", "tao-train-optical-inspection", "--action", "train"]


def _yaml_container_run(root, plant):
    spec = _oi_spec(root)
    plant(spec)
    return ["container", "run", "--skill", "tao-train-optical-inspection", "--action", "train", "-e", spec,
            "--workspace", spec.parent, "--dry-run"]


def _yaml_dataset_check(root, plant):
    split = _oi_split(root)
    spec = root / "train_spec.yaml"
    plant(spec)
    return ["dataset", "check", split, "--spec", spec]


def _yaml_versions(root, plant):
    bank = root / "bank"
    shutil.copytree(support.REPO_ROOT / "skills" / "tao-analyze-gaps-visual-changenet", bank / "skills" / "tao-analyze-gaps-visual-changenet")
    plant(bank / "versions.yaml")
    return ["--bank", bank, "versions", "get", "images.tao_toolkit.data_services"]


def _on_results(file_name: str, *command: str):
    """A case builder: a copy of the finished results folder with `file_name` made hostile."""
    def build(root, plant, finished):
        out = root / "out"
        shutil.copytree(finished, out)
        plant(out / file_name)
        return [*command, out]
    return build


_json_report = _on_results("spotcheck.json", "gaps", "report")
_json_summary = _on_results("metrics.json", "gaps", "summary")
_json_spotcheck = _on_results("metrics.json", "gaps", "spotcheck")
_yaml_summary = _on_results("vcn_aoi_spec.yaml", "gaps", "summary")


YAML_COMMANDS = {"gap_analysis -e": _yaml_gap_spec, "gap_analysis train_config": _yaml_gap_train,
                 "gaps run --train-config": _yaml_gaps_run, "spec validate": _yaml_spec_validate,
                 "container run -e": _yaml_container_run, "dataset check --spec": _yaml_dataset_check,
                 "versions get (versions.yaml)": _yaml_versions, "gaps summary (spec)": _yaml_summary}


def _json_checkpoint(root, plant, finished):
    """The AutoML runner's state: .automl/controller/<experiment>.json."""
    results = root / "automl"
    (results / ".automl" / "controller").mkdir(parents=True)
    plant(results / ".automl" / "controller" / "exp.json")
    return ["checkpoint", "resolve", results, "--select", "best"]


JSON_COMMANDS = {"gaps report (spotcheck.json)": _json_report, "gaps summary (metrics.json)": _json_summary,
                 "gaps spotcheck (metrics.json)": _json_spotcheck, "checkpoint resolve (.automl controller)": _json_checkpoint}


_csv_gap_analysis = _on_experiment("csv", _gap_analysis_argv)
_csv_gaps_run = _on_experiment("csv", _gaps_run_argv)


def _csv_dataset_check(root, plant):
    split = _oi_split(root)
    text = (split / "dataset.csv")
    plant(text)
    return ["dataset", "check", split]


CSV_COMMANDS = {"gap_analysis (inference.csv)": _csv_gap_analysis, "gaps run (inference.csv)": _csv_gaps_run,
                "dataset check (dataset.csv)": _csv_dataset_check}


def _dataset_csv_kind(kind: str):
    """dataset.csv has its own header; the same hostile bytes in its label column."""
    header = "input_path,golden_path,object_name,label\n"
    if kind == "non-UTF-8":
        return lambda p: p.write_bytes((header + "images,images,o1,caf\xe9\n").encode("latin-1"))
    return lambda p: p.write_text(header + "images,images,o1," + "X" * (20 * 1024 * 1024) + "\n")


CASES = ([("yaml", c, k) for c in YAML_COMMANDS for k in YAML_KINDS]
         + [("json", c, k) for c in JSON_COMMANDS for k in JSON_KINDS]
         + [("csv", c, k) for c in CSV_COMMANDS for k in CSV_KINDS]
         + [("override", "gap_analysis key=value", k) for k in OVERRIDE_KINDS]
         + [("set", "spec build --set", k) for k in SET_KINDS])


@pytest.mark.parametrize("family,command,kind", CASES, ids=[f"{c} x {k}" for _, c, k in CASES])
def test_hostile_input_is_one_line_error_and_writes_nothing(tmp_path, finished_run, family, command, kind):
    root = tmp_path / "case"
    root.mkdir()
    if family == "yaml":
        builder = YAML_COMMANDS[command]
        extra = (finished_run,) if command.startswith("gaps summary") else ()
        argv = builder(root, YAML_KINDS[kind], *extra)
    elif family == "json":
        argv = JSON_COMMANDS[command](root, JSON_KINDS[kind], finished_run)
    elif family == "csv":
        plant = _dataset_csv_kind(kind) if command.startswith("dataset") else CSV_KINDS[kind]
        argv = CSV_COMMANDS[command](root, plant)
    elif family == "override":
        exp = _experiment(root / "exp")
        argv = ["gap_analysis", "vcn_aoi", "--engine", "local", "-e", exp["spec"], OVERRIDE_KINDS[kind]]
    else:
        argv = ["spec", "build", "--skill", "tao-train-optical-inspection", "--action", "train",
                "--train-data", "s3://b/t", "--eval-data", "s3://b/v", "-o", root / "built.yaml", "--set",
                SET_KINDS[kind]]
    before = _tree(tmp_path)
    code, stderr = _main(*argv)
    _assert_refused(tmp_path, before, code, stderr, f"{command} x {kind}")


def test_matrix_size():
    """Reported in the hand-over: commands x kinds actually exercised above."""
    assert len(CASES) >= 80, len(CASES)


@pytest.mark.parametrize("kind", ["alias bomb", "100k-deep", "non-UTF-8"])
def test_as_a_shell_sees_it(tmp_path, kind):
    spec = _oi_spec(tmp_path)
    YAML_KINDS[kind](spec)
    result = support.run_cli_subprocess("spec", "validate", spec, "--skill", "tao-train-optical-inspection", "--action", "train",
                             timeout=120)
    support.assert_one_line_error(result, str(spec))
    assert result.code == 1


def test_report_check_reads_a_hostile_spotcheck_json_as_defaults(tmp_path, finished_run):
    """`gaps check` is also a hook: a hostile spotcheck.json is read as 'no verdict list', never a crash."""
    for name, plant in JSON_KINDS.items():
        out = tmp_path / name.replace(" ", "_")
        shutil.copytree(finished_run, out)
        (out / "RCA_Report.md").write_text("# Report\n\n## 1. Verdict\n\nthreshold 0.5\n")
        plant(out / "spotcheck.json")
        code, stderr = _main("gaps", "check", out)
        assert code == 3 and "Traceback" not in stderr and "internal error" not in stderr, (name, stderr[-400:])
