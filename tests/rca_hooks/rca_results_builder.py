"""Builders for a realistic gap-analysis results folder, made here (not by the engine) so the hook tests
depend only on the results-folder contract in docs/ARCHITECTURE.md."""

from __future__ import annotations

import json
from pathlib import Path

from tao_skill_bank.gaps.lifecycle import mark_complete

TIMESTAMP = "2025-03-04_050607"
THRESHOLD = 0.4321987
LABEL_COUNTS = {"PASS": 14, "NO_PASS": 5, "SOLDER_BRIDGE": 3}
LIGHTINGS = ("WhiteLight", "SolderLight")
SECRETS = {
    "ngc": "nvapi-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "hf": "hf_ZyXwVuTsRqPoNmLkJiHgFeDcBa987654",
    "aws": "AKIAQWERTYUIOPASDFGH",
    "bearer": "eyJhbGciOiJIUzI1NiJ9.secretpayload.sig",
    "env_token": "tok-plain-7f3a9c",
    "password": "correct-horse-battery",
    "yaml_secret": "s3cr3t-yaml-value",
}


def _rows() -> list[dict]:
    rows, index = [], 0
    for label, count in LABEL_COUNTS.items():
        for i in range(count):
            score = 0.2 + 0.03 * index if label == "PASS" else 0.45 + 0.04 * i
            rows.append({"input_path": f"boards/{label.lower()}", "object_name": f"obj{index:03d}",
                         "label": label, "siamese_score": round(score, 6)})
            index += 1
    return rows


def spotcheck_rows() -> list[str]:
    verdicts = ["mislabeled", "edge case", "data quality", "systematic", "edge case"] * 2
    return [f"| {i + 1} | {'PASS' if i < 5 else 'NO_PASS'} | obj{i:03d} | 0.{50 + i} | ![t](rca_images/sample_{i:02d}.png) | "
            f"{verdicts[i]} | looks consistent with the score |" for i in range(10)]


def report_text(threshold_quote: str = repr(THRESHOLD), label_counts: dict | None = None,
                spot_rows: list[str] | None = None, filler_words: int = 1050) -> str:
    counts = LABEL_COUNTS if label_counts is None else label_counts
    rows = spotcheck_rows() if spot_rows is None else spot_rows
    filler = " ".join(f"observation{i}" for i in range(filler_words))
    per_label = "\n".join(f"| {label} | {n} | 0.1 | 0.1 | 0.2 | 1 |" for label, n in counts.items())
    return "\n".join([
        "# RCA report", "", "## 1. Verdict", "", f"The model misses no defect at the chosen threshold {threshold_quote}.", "",
        "## 2. Threshold Selection", "", f"Chosen threshold: {threshold_quote} (swept, 20 candidates).", "",
        "| | Predicted NO_PASS | Predicted PASS |", "|---|---|---|", "| Actual NO_PASS | 8 | 0 |", "| Actual PASS | 2 | 12 |", "",
        "## 3. Weakness Distribution", "", "| label | total | mean | median | max | misclassified |", "|---|---|---|---|---|---|",
        per_label, "", "## 4. Top-K Weakest Samples", "", filler, "",
        "## 5. Visual Spot Check", "", "| # | group | sample | score | image | verdict | note |", "|---|---|---|---|---|---|---|",
        *rows, "", "## 6. Per-Label Breakdown", "", "See section 3.", "",
        "## 7. Recommended Actions", "", "- Relabel obj000.", ""])


def build_results_dir(root: Path, images: int = 10, with_report: bool = True) -> Path:
    """<root>/exp/rca_results/<TIMESTAMP>/ with every artifact of a full (reachable) run."""
    import pandas as pd
    from PIL import Image

    exp = root / "exp"
    inference = exp / "inference"
    inference.mkdir(parents=True)
    rows = _rows()
    pd.DataFrame(rows).to_csv(inference / "inference.csv", index=False)
    (exp / "train.yaml").write_text(
        "dataset:\n  classify:\n    input_map:\n      WhiteLight: 0\n      SolderLight: 1\n    image_ext: .png\n"
        f"wandb:\n  api_key: {SECRETS['yaml_secret']}\n", encoding="utf-8")
    out = exp / "rca_results" / TIMESTAMP
    out.mkdir(parents=True)
    (out / "vcn_aoi_spec.yaml").write_text(
        f"inference_results_dir: {inference}\ntrain_config: {exp / 'train.yaml'}\nresults_dir: {out}\n"
        f"kpi_media_path: {root / 'media'}\nmin_recall: 1.0\ntop_k_per_label: 50\n", encoding="utf-8")
    (out / "threshold.txt").write_text(str(THRESHOLD), encoding="utf-8")
    (out / "metrics.json").write_text(json.dumps({"schema_version": 1, "threshold": THRESHOLD}), encoding="utf-8")
    (out / "weak_samples_breakdown.txt").write_text("Weak samples breakdown\n", encoding="utf-8")
    kept = pd.DataFrame([{"filepath": f"/m/{r['object_name']}_{light}.png", "label": r["label"],
                          "siamese_score": r["siamese_score"], "weakness": 0.1} for r in rows for light in LIGHTINGS])
    kept.to_parquet(out / "kpi_gaps.parquet", index=False)
    (out / "run_record.json").write_text(json.dumps({
        "engine": "local", "command_line": f"tao-skills gaps run --env NGC_API_KEY={SECRETS['ngc']}",
        "inference_csv": {"path": str(inference / "inference.csv"), "sha256": "0" * 64},
        "train_config": str(exp / "train.yaml")}), encoding="utf-8")
    (out / "rca_images").mkdir()
    for i in range(images):
        Image.new("RGB", (128, 128), (i * 20 % 255, 80, 160)).save(out / "rca_images" / f"sample_{i:02d}.png")
    mark_complete(out, "local")  # a finished run's last write
    if with_report:
        (out / "RCA_Report.md").write_text(report_text(), encoding="utf-8")
    return out


def build_project(root: Path) -> Path:
    """A project with .claude settings holding planted secrets, a project-local copy of the gap
    skill, and a transcript that mentions every secret."""
    project = root / "proj"
    claude = project / ".claude"
    skill = claude / "skills" / "tao-analyze-gaps-visual-changenet"
    (skill / "references").mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: tao-analyze-gaps-visual-changenet\ndescription: project copy\n---\nBody\n",
                                    encoding="utf-8")
    (skill / "references" / "pitfalls.md").write_text("Pitfalls\n", encoding="utf-8")
    (claude / "settings.json").write_text(json.dumps({"env": {"NGC_API_KEY": SECRETS["ngc"], "HF_HOME": "/data/hf"},
                                                      "hooks": {}}), encoding="utf-8")
    (claude / "settings.local.json").write_text(json.dumps({"env": {"MY_SERVICE_TOKEN": SECRETS["env_token"],
                                                                    "DB_PASSWORD": SECRETS["password"]}}), encoding="utf-8")
    transcript = root / "session.jsonl"
    lines = [
        {"type": "user", "message": {"content": f"my key is {SECRETS['hf']} and AWS {SECRETS['aws']}"}},
        {"type": "assistant", "message": {"content": [{"type": "tool_use", "name": "Bash", "input": {
            "command": f"export NGC_API_KEY={SECRETS['ngc']}\ncurl -H 'Authorization: Bearer {SECRETS['bearer']}' x\n"
                       f"DB_PASSWORD='{SECRETS['password']}' ./run.sh"}}]}},
        {"type": "assistant", "message": {"content": f"Read {skill / 'SKILL.md'}"}},
    ]
    transcript.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    return project
