"""gaps/example.py: the generated VCN experiment is realistic, deterministic and never clobbers data."""

import csv
from pathlib import Path

import pytest

from support import assert_one_line_error, run_cli
from tao_skill_bank.gaps.inputs import read_train_config
from tao_skill_bank.gaps.example import LIGHTINGS, ExampleConfig, create_example, generate_samples


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    target = tmp_path_factory.mktemp("ex") / "exp"
    summary = create_example(target)
    return target, summary


def _rows(exp: Path) -> list[dict]:
    with open(exp / "inference" / "latest" / "inference.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_csv_has_the_vcn_columns_and_labels(example):
    exp, summary = example
    rows = _rows(exp)
    assert len(rows) == 2000 == summary["n_samples"]
    assert list(rows[0]) == ["input_path", "golden_path", "object_name", "label", "siamese_score"]
    labels = {r["label"] for r in rows}
    assert "PASS" in labels and len(labels - {"PASS"}) >= 3
    scores = [float(r["siamese_score"]) for r in rows]
    assert all(0 < s < 1 for s in scores)
    assert len({r["object_name"] for r in rows}) == len(rows)


def test_train_yaml_has_a_four_lighting_dict_in_order(example):
    exp, _ = example
    info = read_train_config(exp / "train.yaml")
    assert info.lightings == list(LIGHTINGS) and info.image_ext == ".png"
    assert "input_map:\n        LowAngleLight: 0" in (exp / "train.yaml").read_text()


def test_every_sample_and_lighting_has_a_small_png(example):
    from PIL import Image

    exp, summary = example
    rows = _rows(exp)
    assert summary["n_images"] == len(rows) * len(LIGHTINGS)
    for row in rows[::97]:
        for lighting in LIGHTINGS:
            path = exp / "images" / row["input_path"] / f"{row['object_name']}_{lighting}.png"
            with Image.open(path) as img:
                assert img.size == (32, 32)
    assert sum(1 for _ in (exp / "images").rglob("*.png")) == summary["n_images"]


def test_defect_images_differ_visibly_from_pass_images(example):
    import numpy as np
    from PIL import Image

    exp, _ = example
    samples = {s.object_name: s for s in generate_samples(ExampleConfig())}
    rows = _rows(exp)

    def pixels(row):
        path = exp / "images" / row["input_path"] / f"{row['object_name']}_UniformLight.png"
        return np.asarray(Image.open(path), dtype=float)

    clean = next(r for r in rows if samples[r["object_name"]].looks_like == "PASS")
    for defect in ("MISSING_COMPONENT", "SOLDER_BRIDGE", "SCRATCH", "SHIFTED"):
        row = next(r for r in rows if samples[r["object_name"]].looks_like == defect)
        assert np.abs(pixels(row) - pixels(clean)).mean() > 5, defect


def test_mislabeled_outliers_are_planted_with_contradicting_scores():
    samples = generate_samples(ExampleConfig())
    odd = [s for s in samples if s.looks_like != s.label]
    assert len(odd) == ExampleConfig().n_mislabeled_pass + ExampleConfig().n_mislabeled_defect
    assert all(s.siamese_score > 0.75 for s in odd if s.label == "PASS")
    assert all(s.siamese_score < 0.15 for s in odd if s.label != "PASS")


def test_same_seed_same_bytes_other_seed_other_scores(tmp_path):
    small = ExampleConfig(n_samples=60)
    create_example(tmp_path / "a", small)
    create_example(tmp_path / "b", small)
    csv_a = (tmp_path / "a" / "inference" / "latest" / "inference.csv").read_bytes()
    assert csv_a == (tmp_path / "b" / "inference" / "latest" / "inference.csv").read_bytes()
    image = Path("images") / "board_A" / "lot_01" / "C00000_WhiteLight.png"
    assert (tmp_path / "a" / image).read_bytes() == (tmp_path / "b" / image).read_bytes()
    create_example(tmp_path / "c", ExampleConfig(n_samples=60, seed=8))
    assert (tmp_path / "c" / "inference" / "latest" / "inference.csv").read_bytes() != csv_a


def test_cli_refuses_a_non_empty_folder_and_leaves_it_alone(tmp_path):
    (tmp_path / "keep.txt").write_text("user data")
    result = run_cli("gaps", "example", tmp_path)
    assert_one_line_error(result, str(tmp_path), "not empty")
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_cli_fills_an_empty_folder_and_prints_the_run_line(tmp_path):
    target = tmp_path / "empty"
    target.mkdir()
    result = run_cli("gaps", "example", target, "--json")
    assert result.code == 0, result.stderr
    payload = result.json()
    assert payload["next"] == f"tao-skills gaps run --exp-dir {target} --dataset-root {target / 'images'}"
    assert (target / "train.yaml").is_file()
    text = run_cli("gaps", "example", tmp_path / "new")
    assert text.stdout.strip().splitlines()[-1].startswith("next: tao-skills gaps run --exp-dir ")
    # no staging folder is left next to the target
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "new"]
