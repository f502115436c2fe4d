"""Runtime rules: specs that merge fine in the container and then fail once the job starts.

Each rule reads the config the container runs with (the spec laid over the runtime defaults,
`experiment_config.merged_config`), so a key the spec leaves out is judged by the default the
container would use. Every rule names the real failure it prevents and where TAO raises it; the
same list, with sources, is docs/spec-rules.md. Pure: `(ctx, cfg) -> list[SpecIssue]`, plus the
split-size rules that take row counts an adapter read from local CSVs (`oi.datasets.count_split`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from tao_skill_bank.oi.specdoc import SpecIssue

PYT = "pyt"          # the PyTorch image (train skill)
DEPLOY = "deploy"    # the TAO Deploy image (deploy skill)
# Actions that open dataset images, per image.
READS_IMAGES = {PYT: ("train", "evaluate", "inference"), DEPLOY: ("evaluate", "inference")}
# The action blocks whose `results_dir` the containers accept instead of the root one.
RESULTS_BLOCKS = ("train", "evaluate", "inference", "export", "gen_trt_engine")


@dataclass(frozen=True)
class RuleContext:
    action: str
    image: str                       # PYT or DEPLOY


Rule = Callable[[RuleContext, dict], list[SpecIssue]]
_ABSENT = object()


def _get(cfg: dict, dotted: str) -> Any:
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def intervals_within_epochs(ctx: RuleContext, cfg: dict) -> list[SpecIssue]:
    """PyTorch train asserts checkpoint_interval <= num_epochs and validation_interval <= num_epochs
    when it starts (the AutoML runner sets both to num_epochs for that reason)."""
    if (ctx.image, ctx.action) != (PYT, "train"):
        return []
    epochs = _int(_get(cfg, "train.num_epochs"))
    issues = []
    for name in ("checkpoint_interval", "validation_interval"):
        value = _int(_get(cfg, f"train.{name}"))
        if epochs is not None and value is not None and value > epochs:
            issues.append(SpecIssue(f"train.{name}", f"<= train.num_epochs ({epochs})", str(value),
                                    f"train stops with an AssertionError at start when {name} exceeds "
                                    f"num_epochs — set train.{name}={epochs} or lower, or raise train.num_epochs"))
    return issues


def lightings(cfg: dict) -> int:
    """Images per sample: one per `dataset.input_map` entry; a null (or empty) map means one image
    per row with no `_<lighting>` suffix, as both loaders read it."""
    input_map = _get(cfg, "dataset.input_map")
    return len(input_map) if isinstance(input_map, dict) and input_map else 1


def num_input_matches_lightings(ctx: RuleContext, cfg: dict) -> list[SpecIssue]:
    """The model stacks dataset.num_input images per sample; the loaders give one per lighting."""
    num_input = _int(_get(cfg, "dataset.num_input"))
    count = lightings(cfg)
    if num_input is None or num_input == count:
        return []
    input_map = _get(cfg, "dataset.input_map")
    got = (f"{num_input} with input_map null (one image per row)" if not (isinstance(input_map, dict) and input_map)
           else f"{num_input} with {count} lighting(s) in dataset.input_map")
    return [SpecIssue("dataset.num_input", f"{count} (the number of images per sample)", got,
                      "the model's first forward fails on the shape (PyTorch) and the TensorRT loader indexes "
                      f"past the images it read (Deploy) — set dataset.num_input={count}, or list one "
                      "input_map entry per lighting")]


def image_ext_has_its_dot(ctx: RuleContext, cfg: dict) -> list[SpecIssue]:
    """Both loaders append image_ext to `<object>_<lighting>` as written: `jpg` looks for
    `C1_SolderLightjpg`, and null cannot be appended at all."""
    if ctx.action not in READS_IMAGES.get(ctx.image, ()):
        return []
    value = _get(cfg, "dataset.image_ext")
    if isinstance(value, str) and value.startswith(".") and len(value) > 1:
        return []
    if value is None or value is _ABSENT:
        why, fix = "the loader appends it to every file name and fails (TypeError) on null", ".jpg"
    else:
        text = str(value)
        why = "the loader appends it as written, so every image is 'not found'"
        fix = "." + text.lstrip(".") if text.strip(".") else ".jpg"
    return [SpecIssue("dataset.image_ext", "a file extension with its dot, e.g. .jpg",
                      repr(value) if value is not _ABSENT else "unset",
                      f"{why} — set dataset.image_ext={fix}")]


def train_batch_above_one(ctx: RuleContext, cfg: dict) -> list[SpecIssue]:
    """The PyTorch train dataloader asserts batch_size > 1 (pairs are split inside a batch)."""
    if (ctx.image, ctx.action) != (PYT, "train") or _int(_get(cfg, "dataset.batch_size")) != 1:
        return []
    return [SpecIssue("dataset.batch_size", "an integer >= 2", "1",
                      "the optical inspection train dataloader asserts on batch size 1 and the job dies "
                      "at the first step — use 8 (template default) or 2 for a smoke run")]


def results_dir_set(ctx: RuleContext, cfg: dict) -> list[SpecIssue]:
    """Every entry point resolves its output folder from `<action>.results_dir`, else
    `results_dir`; with neither it raises ValueError before doing anything."""
    block = ctx.action if ctx.action in RESULTS_BLOCKS else None
    own = _get(cfg, f"{block}.results_dir") if block else _ABSENT
    root = _get(cfg, "results_dir")
    if _truthy(own) or _truthy(root):
        return []
    return [SpecIssue("results_dir", f"a folder for the outputs (results_dir or {block or ctx.action}.results_dir)",
                      repr(None if root is _ABSENT else root),
                      "the container raises ValueError when neither is set — build the spec with --job-dir "
                      "JOB_DIR (a new folder), or --set results_dir=/path/to/job")]


def _truthy(value: Any) -> bool:
    return value is not _ABSENT and bool(value)


RUNTIME_RULES: list[Rule] = [
    intervals_within_epochs,
    num_input_matches_lightings,
    image_ext_has_its_dot,
    train_batch_above_one,
    results_dir_set,
]


def check(ctx: RuleContext, cfg: dict) -> list[SpecIssue]:
    return [issue for rule in RUNTIME_RULES for issue in rule(ctx, cfg)]


# ---------------------------------------------------------------- local split sizes

@dataclass(frozen=True)
class SplitSize:
    csv_key: str                     # e.g. dataset.train_dataset.csv_path
    rows: int
    defect_rows: int


def split_rules(ctx: RuleContext, cfg: dict, splits: list[SplitSize]) -> list[SpecIssue]:
    """PyTorch loaders refuse a split with fewer rows than dataset.batch_size ("Dataset size (N) is
    smaller than the total batch size"), and the train sampler divides by the number of defect
    rows (ZeroDivisionError on a train split without any). Deploy batches with ceil(): no rule."""
    if ctx.image != PYT:
        return []
    batch = _int(_get(cfg, "dataset.batch_size"))
    issues = []
    for split in splits:
        if batch is not None and split.rows < batch:
            issues.append(SpecIssue(split.csv_key, f"at least dataset.batch_size ({batch}) rows", f"{split.rows} row(s)",
                                    "the loader stops with 'Dataset size is smaller than the total batch size' — "
                                    f"set dataset.batch_size={max(2, split.rows) if ctx.action == 'train' else max(1, split.rows)} "
                                    "or lower, or use a bigger split"))
        if ctx.action == "train" and split.csv_key == "dataset.train_dataset.csv_path" and split.defect_rows == 0:
            issues.append(SpecIssue(split.csv_key, "a train split with at least one defect row (label other than PASS)",
                                    f"{split.rows} PASS row(s), 0 defect rows",
                                    "the train sampler divides by the number of defect rows (ZeroDivisionError) — "
                                    "add defect samples to the train split"))
    return issues
