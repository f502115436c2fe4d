"""`tao-skills gaps spotcheck OUT`: pick the 10 samples the agent looks at, and prepare them.

Selection (pure, `select_spotcheck`): one row per sample — the first-lighting row of each sample
in kpi_gaps.parquet — then the 5 weakest PASS and the 5 weakest NO_PASS by weakness, descending,
ties kept in parquet order. Then: 128×128 thumbnails in OUT/rca_images/, a captioned contact
sheet, and OUT/spotcheck.json with an empty `verdict` per sample for the agent to fill.

An existing spotcheck.json that already holds verdicts is never overwritten silently: the command
refuses, and `--force` regenerates it while keeping the verdicts and notes of samples that are
still selected (matched by file path).
"""

from __future__ import annotations

import logging
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from tao_skill_bank.errors import UserError
from tao_skill_bank.gaps.contract import (CONTACT_SHEET, IMAGES_DIR, NO_PASS, PARQUET, PARQUET_COLUMNS, PASS,
                                          SPOTCHECK, UNREACHABLE, VERDICTS, is_pass)

log = logging.getLogger(__name__)

PER_GROUP = 5
THUMB_SIZE = 128
CAPTION_HEIGHT = 46
_SUFFIX_RE = re.compile(r"^(?P<stem>.*)_(?P<lighting>[^_/\\]+)(?P<ext>\.[^./\\]+)$")


@dataclass(frozen=True)
class Pick:
    rank: int          # 1 = weakest within its group
    group: str         # PASS | NO_PASS
    label: str
    siamese_score: float
    weakness: float
    filepath: str


def sample_key(filepath: str, lightings: list[str] | None, image_ext: str | None) -> str:
    """The sample a parquet row belongs to: its file path without `_<lighting><ext>`."""
    if lightings:
        for lighting in lightings:
            suffix = f"_{lighting}{image_ext or ''}"
            if filepath.endswith(suffix):
                return filepath[:-len(suffix)]
    match = _SUFFIX_RE.match(filepath)
    return match.group("stem") if match else filepath


def select_spotcheck(rows: list[dict], lightings: list[str] | None = None, image_ext: str | None = None,
                     per_group: int = PER_GROUP) -> list[Pick]:
    """rows: parquet records (filepath, label, siamese_score, weakness) in parquet order."""
    first_lighting = f"_{lightings[0]}{image_ext or ''}" if lightings else None
    chosen: dict[str, dict] = {}
    order: list[str] = []
    for row in rows:
        key = sample_key(str(row["filepath"]), lightings, image_ext)
        if key not in chosen:
            chosen[key] = row
            order.append(key)
        elif first_lighting and str(row["filepath"]).endswith(first_lighting) \
                and not str(chosen[key]["filepath"]).endswith(first_lighting):
            chosen[key] = row  # prefer the first lighting's image for the sample
    samples = [chosen[k] for k in order]
    picks: list[Pick] = []
    for group in (PASS, NO_PASS):
        members = [r for r in samples if is_pass(r["label"]) == (group == PASS)]
        members.sort(key=lambda r: -float(r["weakness"]))  # stable: ties keep parquet order
        for rank, r in enumerate(members[:per_group], start=1):
            picks.append(Pick(rank=rank, group=group, label=str(r["label"]).strip(),
                              siamese_score=float(r["siamese_score"]), weakness=float(r["weakness"]),
                              filepath=str(r["filepath"])))
    return picks


def thumbnail_name(pick: Pick) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(pick.filepath).stem)[:80]
    return f"{pick.group.lower()}_{pick.rank:02d}_{stem}.png"


def make_thumbnail(source: Path):
    """A 128×128 RGB copy, letterboxed so nothing of the part is cropped away."""
    from PIL import Image, ImageOps

    with Image.open(source) as img:
        img.load()
        rgb = img.convert("RGB")
    return ImageOps.pad(rgb, (THUMB_SIZE, THUMB_SIZE), method=Image.Resampling.LANCZOS, color=(128, 128, 128))


def write_thumbnails(picks: list[Pick], out: Path) -> tuple[list[dict], list[str], dict]:
    """Thumbnails into OUT/rca_images/; one message per missing/unreadable image, the rest go on."""
    from PIL import UnidentifiedImageError

    from tao_skill_bank.fsutil import atomic_write_with

    entries, problems, images = [], [], {}
    for pick in picks:
        source = Path(pick.filepath)
        entry = {"rank": pick.rank, "group": pick.group, "label": pick.label,
                 "siamese_score": pick.siamese_score, "weakness": pick.weakness,
                 "filepath": pick.filepath, "thumbnail": "", "image_found": False,
                 "verdict": "", "note": ""}
        try:
            thumb = make_thumbnail(source)
        except FileNotFoundError:
            problems.append(f"{pick.group} #{pick.rank}: image not found: {source} — check --dataset-root "
                            f"(kpi_media_path) and image_ext of this run")
        except (UnidentifiedImageError, OSError) as exc:
            problems.append(f"{pick.group} #{pick.rank}: image unreadable ({type(exc).__name__}): {source} "
                            f"— judge it from another lighting or mark it 'data quality'")
        else:
            relative = f"{IMAGES_DIR}/{thumbnail_name(pick)}"
            atomic_write_with(out / relative, lambda tmp, t=thumb: t.save(tmp, format="PNG"))
            entry.update(thumbnail=relative, image_found=True)
            images[relative] = thumb
        entries.append(entry)
    return entries, problems, images


def draw_contact_sheet(entries: list[dict], images: dict, path: Path) -> Path:
    """Two rows (PASS, NO_PASS) of five 128×128 cells captioned with label, score, weakness."""
    from PIL import Image, ImageDraw, ImageFont

    from tao_skill_bank.fsutil import atomic_write_with

    cell_w, cell_h, gap = THUMB_SIZE, THUMB_SIZE + CAPTION_HEIGHT, 8
    cols = PER_GROUP
    groups = [PASS, NO_PASS]
    sheet = Image.new("RGB", (gap + cols * (cell_w + gap), 24 + len(groups) * (cell_h + gap)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    draw.text((gap, 6), "spot check: weakest PASS (top row) and weakest NO_PASS (bottom row)", fill="black", font=font)
    for row, group in enumerate(groups):
        members = [e for e in entries if e["group"] == group]
        for col, entry in enumerate(members[:cols]):
            x, y = gap + col * (cell_w + gap), 24 + row * (cell_h + gap)
            thumb = images.get(entry["thumbnail"])
            if thumb is not None:
                sheet.paste(thumb, (x, y))
            else:
                draw.rectangle([x, y, x + cell_w - 1, y + THUMB_SIZE - 1], fill=(235, 235, 235), outline="red")
                draw.text((x + 8, y + 56), "image missing", fill="red", font=font)
            caption = [f"#{entry['rank']} {entry['label']}"[:21],
                       f"score {entry['siamese_score']:.4f}",
                       f"weak {entry['weakness']:+.4f}"]
            for i, line in enumerate(caption):
                draw.text((x + 2, y + THUMB_SIZE + 2 + 14 * i), line, fill="black", font=font)
    return atomic_write_with(path, lambda tmp: sheet.save(tmp, format="PNG"))


def merge_previous(entries: list[dict], previous: dict | None) -> int:
    """Carry verdicts/notes of still-selected samples (by filepath) into the new entries."""
    if not previous:
        return 0
    old = {s.get("filepath"): s for s in previous.get("samples", []) if isinstance(s, dict)}
    kept = 0
    for entry in entries:
        prior = old.get(entry["filepath"])
        if prior and (prior.get("verdict") or prior.get("note")):
            entry["verdict"], entry["note"] = prior.get("verdict", ""), prior.get("note", "")
            kept += 1
    return kept


def has_verdicts(spotcheck: dict | None) -> bool:
    return bool(spotcheck) and any(isinstance(s, dict) and (s.get("verdict") or s.get("note"))
                                   for s in spotcheck.get("samples", []))


def run_spotcheck(out: str | Path, force: bool = False) -> dict:
    from tao_skill_bank.fsutil import atomic_write_json
    from tao_skill_bank.gaps.results import load_parquet, read_json, read_results

    folder = read_results(out)
    if folder.is_unreachable:
        raise UserError("the KPI is unreachable in this run, so there are no weak samples to look at",
                        file=str(folder.path / UNREACHABLE),
                        fix=f"skip the spot check and write the abridged report: "
                            f"tao-skills gaps report {shlex.quote(str(folder.path))}")
    spot_path = folder.path / SPOTCHECK
    previous = read_json(spot_path)
    if has_verdicts(previous) and not force:
        raise UserError("already holds verdicts; refusing to overwrite them", file=str(spot_path),
                        fix="keep it (go on with `tao-skills gaps report`), move it away, or rerun with "
                            "--force to regenerate and keep the verdicts of samples still selected")
    df = load_parquet(folder)
    lightings = folder.lightings()
    picks = select_spotcheck(df[list(PARQUET_COLUMNS)].to_dict("records"),
                             *(lightings or (None, None)))
    if not picks:
        raise UserError("kpi_gaps.parquet has no rows to spot check", file=str(folder.path / PARQUET),
                        fix="check top_k_per_label (must be ≥ 1) and rerun `tao-skills gaps run`")
    entries, problems, images = write_thumbnails(picks, folder.path)
    for message in problems:
        print(f"warning: {message}", file=sys.stderr)
    kept = merge_previous(entries, previous) if force else 0
    draw_contact_sheet(entries, images, folder.path / CONTACT_SHEET)
    document = {"results_dir": str(folder.path), "allowed_verdicts": list(VERDICTS), "samples": entries}
    atomic_write_json(spot_path, document)
    counts = {g: sum(e["group"] == g for e in entries) for g in (PASS, NO_PASS)}
    return {
        "results_dir": str(folder.path),
        "spotcheck_json": str(spot_path),
        "contact_sheet": str(folder.path / CONTACT_SHEET),
        "selected": counts,
        "images_found": sum(e["image_found"] for e in entries),
        "problems": problems,
        "verdicts_kept": kept,
        "samples": entries,
        "next": f"tao-skills gaps report {shlex.quote(str(folder.path))}",
    }


def spotcheck_text(result: dict) -> str:
    lines = [f"spot check: {result['selected']['PASS']} PASS + {result['selected']['NO_PASS']} NO_PASS samples, "
             f"{result['images_found']} images found"]
    from tao_skill_bank.markdown import visible_controls

    for entry in result["samples"]:  # a label or path holding a newline stays on its line
        shown = entry["thumbnail"] or f"(missing) {visible_controls(entry['filepath'])}"
        lines.append(f"  {entry['group']:<7} #{entry['rank']} {visible_controls(entry['label']):<20} "
                     f"score={entry['siamese_score']:.4f} "
                     f"weakness={entry['weakness']:+.4f}  {shown}")
    if result["verdicts_kept"]:
        lines.append(f"kept {result['verdicts_kept']} earlier verdict(s)")
    lines += [f"contact sheet: {result['contact_sheet']}",
              f"to do: view each image, set `verdict` to one of {', '.join(VERDICTS)} "
              f"(and a short `note`) in {result['spotcheck_json']}",
              f"then: {result['next']}",
              f"results_dir: {result['results_dir']}"]
    return "\n".join(lines)
