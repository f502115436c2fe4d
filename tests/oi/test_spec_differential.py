"""Differential test: `spec build` + `spec validate` against the containers' real spec merge.

For every generated case (tests/oi/spec_cases.py: systematic + seeded random + local splits, every
action of both skills) we build the spec as `tao-skills spec build` does, validate the written
text as `tao-skills spec validate` does, and ask the real code (nvidia-tao-core / nvidia-tao-deploy
ExperimentConfig in the oracle venv, one batched process) whether the same text merges:
    ours accepts  <=>  TAO's merge accepts  AND  no known runtime failure applies.
The known runtime failures are written here, independently of our rule code, from the facts of the
real train/Deploy code (docs/spec-rules.md lists each with its TAO source) and judged on the
config TAO's merge produced. Accepted specs must also carry exactly TAO's merged values.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest
import yaml

from oi import oracle
from oi import spec_cases
from oi.spec_cases import DEPLOY_SKILL, TRAIN_SKILL, SpecCase
from support import REPO_ROOT
from tao_skill_bank.errors import UserError

pytestmark = pytest.mark.oracle

SKILL_DIRS = {name: REPO_ROOT / "skills" / name for name in (TRAIN_SKILL, DEPLOY_SKILL)}
CONFIG_OF = {TRAIN_SKILL: "core", DEPLOY_SKILL: "deploy"}
RANDOM_CASES = 300
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # same results as safe_load, faster


def load(text: str):
    return yaml.load(text, Loader=LOADER)
READS_IMAGES = {TRAIN_SKILL: ("train", "evaluate", "inference"), DEPLOY_SKILL: ("evaluate", "inference")}
SPLITS = {"train": ["train_dataset", "validation_dataset", "test_dataset"], "evaluate": ["test_dataset"],
          "inference": ["infer_dataset"]}


# ---------------------------------------------------------------- known runtime failures (independent)

def _get(cfg, dotted, default=None):
    node = cfg
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _placeholders(node, prefix=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _placeholders(value, f"{prefix}{key}.")
    elif node == "???" or (isinstance(node, list) and "???" in node):
        yield prefix.rstrip(".")


def known_failures(case: SpecCase, merged: dict, written: dict, split_rows: dict) -> list[str]:
    """Why the container would fail (or, for the marked deliberate ones, silently misbehave) on a
    config that merged. `merged` is TAO's merged config, `written` our spec as the file says."""
    why = []
    skill, action = case.skill, case.action
    pyt = skill == TRAIN_SKILL
    if list(_placeholders(written)):
        why.append("placeholder left (MissingMandatoryValue when read; deliberate: refused everywhere)")
    if pyt and action in ("train", "evaluate", "inference") and isinstance(written.get(action), dict):
        block = written[action]
        if isinstance(block.get("num_gpus"), str) or any(isinstance(i, str) for i in block.get("gpu_ids") or []):
            why.append("quoted num_gpus/gpu_ids (the launcher reads the file with plain YAML: TypeError)")
    if pyt and action == "train":
        epochs = _get(merged, "train.num_epochs")
        for name in ("checkpoint_interval", "validation_interval"):
            if _get(merged, f"train.{name}") > epochs:
                why.append(f"{name} > num_epochs (AssertionError at train start)")
        if _get(merged, "dataset.batch_size") == 1:
            why.append("train batch 1 (dataloader assertion)")
    if action in READS_IMAGES[skill]:
        input_map = _get(merged, "dataset.input_map")
        images = len(input_map) if input_map else 1
        if _get(merged, "dataset.num_input") != images:
            why.append("num_input != images per sample (shape error / IndexError)")
        ext = _get(merged, "dataset.image_ext")
        if not (isinstance(ext, str) and ext.startswith(".") and len(ext) > 1):
            why.append("image_ext without its dot or null (file not found / TypeError)")
    block = action if action in ("train", "evaluate", "inference", "export", "gen_trt_engine") else None
    if not _get(merged, "results_dir") and not (block and _get(merged, f"{block}.results_dir")):
        why.append("no results_dir (ValueError)")
    if pyt and action in ("train", "evaluate", "inference"):
        ids = _get(merged, f"{action}.gpu_ids")
        if len(ids) != _get(merged, f"{action}.num_gpus"):
            why.append("gpu_ids does not list num_gpus ids (deliberate)")
        batch = _get(merged, "dataset.batch_size")
        for split, (rows, defects) in split_rows.items():
            if split in SPLITS[action] and rows < batch:
                why.append(f"{split} smaller than batch ('Dataset size is smaller than the total batch size')")
            if action == "train" and split == "train_dataset" and defects == 0:
                why.append("train split without defect rows (ZeroDivisionError in the sampler)")
    if not pyt:
        trt = _get(merged, "gen_trt_engine.tensorrt")
        if action == "gen_trt_engine":
            if str(trt["data_type"]).strip().lower() not in ("fp32", "fp16", "bf16", "int8"):
                why.append("data_type is no single precision (deliberate: TensorRT silently builds FP32)")
            folders = trt["calibration"]["cal_image_dir"]
            if trt["data_type"] == "int8" and not (isinstance(folders, list) and folders and "???" not in folders):
                why.append("int8 without calibration images")
            if any(":" not in str(layer) for layer in (trt["layers_precision"] or [])):
                why.append("layers_precision entry without ':' (IndexError)")
        profile = _get(written, "gen_trt_engine.tensorrt") or {}
        values = [profile.get(k) for k in ("min_batch_size", "opt_batch_size", "max_batch_size")]
        recorded = [v for v in values if type(v) is int]
        if recorded != sorted(recorded):
            why.append("batch profile out of order (TensorRT refuses)")
        low, high = (v if type(v) is int else None for v in (values[0], values[2]))
        batch = _get(written, f"{action}.batch_size")
        if action in ("evaluate", "inference") and type(batch) is int and (
                (low is not None and batch < low) or (high is not None and batch > high)):
            why.append("batch outside the engine profile the spec records (TensorRT refuses)")
        width, height = _get(written, "dataset.image_width"), _get(written, "dataset.image_height")
        if type(width) is int and type(height) is int and width != height:
            why.append("non-square images (deliberate: the Deploy loader transposes them)")
    return why


# ---------------------------------------------------------------- our side

def our_verdict(case: SpecCase, data: dict) -> tuple[bool, str | None, list[str]]:
    """(accepted, written spec text or the assembled text when refused (None when nothing could be
    assembled), issue lines)."""
    from tao_skill_bank.oi.spec import assemble_spec_report, validate_spec
    from tao_skill_bank.oi.specdoc import parse_set_values
    from tao_skill_bank.oi.spec_cli import render_spec

    skill_dir = SKILL_DIRS[case.skill]
    try:
        overrides = parse_set_values(case.all_sets)
        build = assemble_spec_report(skill_dir, case.action, data=data, overrides=overrides)
    except UserError as err:
        return False, None, [err.one_line()]
    issues = validate_spec(build.spec, skill_dir, case.action, mode="submit")
    text = render_spec(build.spec, skill_dir.name, case.action)
    if issues:
        return False, text, [i.line() for i in issues]
    again = validate_spec(load(text), skill_dir, case.action, mode="submit")   # `spec validate` of the file
    return not again, text, [i.line() for i in again]


def fallback_text(case: SpecCase, data: dict) -> str:
    """The spec for the oracle when our build refused before assembling one: the template with
    every --set applied as written (a key below a scalar replaces the scalar with a mapping)."""
    from tao_skill_bank.oi.skillinfo import load_skill_info
    from tao_skill_bank.oi.specdoc import parse_set_values

    skill_dir = SKILL_DIRS[case.skill]
    spec = load((skill_dir / load_skill_info(skill_dir).action(case.action).template).read_text())
    for key, value in parse_set_values(case.all_sets).items():
        node = spec
        *parents, leaf = key.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[leaf] = value
    return yaml.safe_dump(spec, sort_keys=False)


# ---------------------------------------------------------------- the run

def _trees():
    from tao_skill_bank.oi.experiment_config import load_config_tree

    return {name: load_config_tree(path) for name, path in SKILL_DIRS.items()}


def make_local_splits(root: Path) -> dict[str, Path]:
    """Local split variants: rows and classes decide the split-size rules."""
    variants = {"ten": ["PASS"] * 7 + ["missing", "short", "PASS"], "three": ["PASS", "PASS", "bridge"],
                "one": ["bridge"], "no_defects": ["PASS"] * 12, "lower_pass": ["pass"] * 4 + ["PASS"] * 4}
    out = {}
    for name, labels in variants.items():
        split = root / name
        images = split / "images" / "images"
        for folder in ("golden", "boardA"):
            (images / folder).mkdir(parents=True)
        rows = "".join(f"boardA,golden,C{i},{label}\n" for i, label in enumerate(labels))
        (split / "dataset.csv").write_text("input_path,golden_path,object_name,label\n" + rows)
        out[name] = split
    return out


def local_cases(splits: dict[str, Path]) -> list[SpecCase]:
    cases = []
    for action in ("train", "evaluate", "inference"):
        flags = {"train": ("train_data", "eval_data"), "evaluate": ("eval_data",), "inference": ("infer_data",)}[action]
        for name in splits:
            for batch in (1, 2, 4, 8):
                data = {flag: str(splits[name]) for flag in flags}
                if action == "train":
                    data["eval_data"] = str(splits["ten"])   # the train split decides
                cases.append(SpecCase(f"local-{len(cases):03d}-{action}-{name}-b{batch}", TRAIN_SKILL, action,
                                      [f"dataset.batch_size={batch}"], "local", data))
    return cases


def split_rows_of(case: SpecCase) -> dict[str, tuple[int, int]]:
    """Rows and defect rows per split the case reads from a local folder (plain pandas, like TAO)."""
    import pandas as pd

    sources = {"train_data": ["train_dataset"], "eval_data": ["validation_dataset", "test_dataset"]
               if case.action == "train" else ["test_dataset"], "infer_data": ["infer_dataset"]}
    out = {}
    for flag, folder in case.data.items():
        if folder.startswith("s3://"):
            continue
        frame = pd.read_csv(Path(folder) / "dataset.csv", dtype={"object_name": str})
        for split in sources[flag]:
            out[split] = (len(frame), int((frame["label"] != "PASS").sum()))
    return out


def _leaf_values(node, prefix=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaf_values(value, f"{prefix}{key}.")
    else:
        yield prefix.rstrip("."), node


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    python = oracle.oi_oracle_python()
    trees = _trees()
    splits = make_local_splits(tmp_path_factory.mktemp("splits"))
    cases = (spec_cases.systematic_cases(trees) + spec_cases.random_cases(trees, RANDOM_CASES)
             + local_cases(splits))
    ours = {}
    requests = []
    for case in cases:
        accepted, text, issues = our_verdict(case, case.data)
        text = text if text is not None else fallback_text(case, case.data)
        ours[case.id] = (accepted, text, issues)
        requests.append({"id": case.id, "config": CONFIG_OF[case.skill], "spec_yaml": text})
    real = oracle.real_merge(requests, python)
    return cases, ours, real, trees


def test_ours_accepts_exactly_when_tao_merges_and_no_runtime_failure_applies(outcome):
    cases, ours, real, _ = outcome
    disagreements = []
    counts = Counter()
    for case in cases:
        accepted, text, issues = ours[case.id]
        result = real[case.id]
        written = load(text)
        why = known_failures(case, result["merged"], written, split_rows_of(case)) if result["ok"] else []
        expected = result["ok"] and not why
        counts[(case.family, "accept" if expected else "refuse")] += 1
        if accepted != expected:
            disagreements.append(f"{case.id} {case.skill} {case.action} {case.sets}: ours "
                                 f"{'accepts' if accepted else 'refuses'} ({'; '.join(issues)[:300]}), TAO "
                                 f"{'merges' if result['ok'] else 'refuses: ' + str(result['error'])}"
                                 f"{', runtime: ' + '; '.join(why) if why else ''}")
    print("\nspec differential cases:", dict(sorted(counts.items())), "total", len(cases))
    assert len(cases) >= 300
    assert not disagreements, f"{len(disagreements)} disagreement(s):\n" + "\n".join(disagreements[:40])


def test_both_verdicts_occur_in_every_family(outcome):
    cases, ours, _, _ = outcome
    for family in ("systematic", "random", "local"):
        verdicts = {ours[c.id][0] for c in cases if c.family == family}
        assert verdicts == {True, False}, family


def test_accepted_specs_carry_the_values_tao_merges(outcome):
    """What `spec build` writes is what the container runs with: every leaf of our merged view of
    the written file equals TAO's merged config (types included: no silent 1e5 -> 100000.0)."""
    from tao_skill_bank.oi.experiment_config import merged_config

    cases, ours, real, trees = outcome
    wrong = []
    for case in cases:
        accepted, text, _ = ours[case.id]
        if not accepted:
            continue
        mine = dict(_leaf_values(merged_config(load(text), trees[case.skill])))
        for key, value in _leaf_values(real[case.id]["merged"]):
            if not _same(mine.get(key), value):
                wrong.append(f"{case.id} {case.sets}: {key} ours {mine.get(key)!r}, TAO {value!r}")
    assert not wrong, "\n".join(wrong[:30])


def test_hydra_composition_agrees_with_the_plain_merge(outcome):
    """The containers load the spec through hydra_runner (a ConfigStore schema named like the spec
    file); on a sample of cases that route gives the same verdict as the plain merge."""
    cases, ours, real, _ = outcome
    sample = [c for i, c in enumerate(cases) if i % 25 == 0]
    requests = [{"id": c.id, "config": CONFIG_OF[c.skill], "hydra": True,
                 "spec_yaml": ours[c.id][1]} for c in sample]
    composed = oracle.real_merge(requests)
    assert {c.id: composed[c.id]["ok"] for c in sample} == {c.id: real[c.id]["ok"] for c in sample}
    assert {True, False} == {composed[c.id]["ok"] for c in sample}
