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
# The dataset splits each PyTorch action loads (the Lightning data module: fit = train +
# validation, test = test, predict = infer); their local CSVs are counted for the split rules.
READ_SPLITS = {(PYT, "train"): ("train_dataset", "validation_dataset"), (PYT, "evaluate"): ("test_dataset",),
               (PYT, "inference"): ("infer_dataset",)}
# The action blocks whose `results_dir` the containers accept instead of the root one.
RESULTS_BLOCKS = ("train", "evaluate", "inference", "export", "gen_trt_engine")


@dataclass(frozen=True)
class RuleContext:
    action: str
    image: str                       # PYT or DEPLOY
    spec: dict | None = None         # the spec as written (what the PyTorch launcher reads before the merge)


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
    """PyTorch train asserts validation_interval <= num_epochs, and checkpoint_interval <= num_epochs
    when checkpoint_interval_unit is `epoch` (the default), when it starts (the AutoML runner
    sets both to num_epochs for that reason)."""
    if (ctx.image, ctx.action) != (PYT, "train"):
        return []
    epochs = _int(_get(cfg, "train.num_epochs"))
    issues = []
    names = ["validation_interval"]
    if _get(cfg, "train.checkpoint_interval_unit") == "epoch":
        names.insert(0, "checkpoint_interval")
    for name in names:
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
    if ctx.action not in READS_IMAGES.get(ctx.image, ()):
        return []
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


def layers_precision_pairs(ctx: RuleContext, cfg: dict) -> list[SpecIssue]:
    """TAO Deploy gen_trt_engine splits each layers_precision entry at its last ':' and raises
    IndexError for an entry without one."""
    if (ctx.image, ctx.action) != (DEPLOY, "gen_trt_engine"):
        return []
    entries = _get(cfg, "gen_trt_engine.tensorrt.layers_precision")
    bad = [e for e in entries if ":" not in str(e)] if isinstance(entries, list) else []
    if not bad:
        return []
    return [SpecIssue("gen_trt_engine.tensorrt.layers_precision", "entries 'layer_name:precision'", repr(bad),
                      "the engine build stops with IndexError on an entry without ':' — write e.g. "
                      "['/backbone/conv1:fp32'], or [] to keep one precision")]


def launcher_gpu_fields(ctx: RuleContext, cfg: dict) -> list[SpecIssue]:
    """The PyTorch launcher reads `<action>.num_gpus` and `<action>.gpu_ids` from the spec file with
    plain YAML before any merge: a quoted number for num_gpus makes `max(num_gpus, len(gpu_ids))`
    a TypeError, and quoted ids end up in TAO_VISIBLE_DEVICES ("'0'"), which int() cannot read."""
    if ctx.image != PYT or ctx.action not in ("train", "evaluate", "inference") or not isinstance(ctx.spec, dict):
        return []
    block = ctx.spec.get(ctx.action)
    if not isinstance(block, dict):
        return []
    issues = []
    num_gpus = block.get("num_gpus", 1)
    if isinstance(num_gpus, str):
        issues.append(SpecIssue(f"{ctx.action}.num_gpus", "an unquoted integer", repr(num_gpus),
                                "the PyTorch launcher reads this field from the file as written and fails on "
                                f"text (TypeError) — write {ctx.action}.num_gpus={num_gpus.strip() or 1} without quotes"))
    ids = block.get("gpu_ids", [0])
    if isinstance(ids, list) and any(isinstance(i, str) for i in ids):
        fixed = [i.strip() if isinstance(i, str) else i for i in ids]
        issues.append(SpecIssue(f"{ctx.action}.gpu_ids", "a list of unquoted integers", repr(ids),
                                "the launcher passes the ids as written to TAO_VISIBLE_DEVICES, and quoted ids "
                                f"cannot be read back — write {ctx.action}.gpu_ids=[{', '.join(map(str, fixed))}]"))
    return issues


def tensorboard_frequency_within_epochs(ctx: RuleContext, cfg: dict) -> list[SpecIssue]:
    """With train.tensorboard.enabled the PyTorch train script asserts
    infrequent_logging_frequency <= num_epochs."""
    if (ctx.image, ctx.action) != (PYT, "train") or _get(cfg, "train.tensorboard.enabled") is not True:
        return []
    frequency = _int(_get(cfg, "train.tensorboard.infrequent_logging_frequency"))
    epochs = _int(_get(cfg, "train.num_epochs"))
    if frequency is None or epochs is None or max(0, frequency) <= epochs:
        return []
    return [SpecIssue("train.tensorboard.infrequent_logging_frequency", f"<= train.num_epochs ({epochs})", str(frequency),
                      "train stops with an AssertionError at start when TensorBoard is on — set "
                      f"train.tensorboard.infrequent_logging_frequency={epochs} or lower")]


def resume_checkpoint_format(ctx: RuleContext, cfg: dict) -> list[SpecIssue]:
    """PyTorch train resumes only from a .pth or .tlt file (ValueError otherwise)."""
    if (ctx.image, ctx.action) != (PYT, "train"):
        return []
    path = _get(cfg, "train.resume_training_checkpoint_path")
    if not path or not isinstance(path, str) or path.endswith((".pth", ".tlt")) or path == "???":
        return []
    return [SpecIssue("train.resume_training_checkpoint_path", "a .pth (or .tlt) checkpoint file", repr(path),
                      "train raises 'Resume checkpoint has an invalid file format' — point it at a "
                      "model_epoch_*.pth file (`tao-skills checkpoint resolve JOB --select latest`) or remove it")]


def grid_concat_has_its_map(ctx: RuleContext, cfg: dict) -> list[SpecIssue]:
    """concat_type grid with an even num_input tiles the images by dataset.grid_map {x, y}: both
    loaders index grid_map['x'] (TypeError when null) and take x*y images (IndexError past the
    images a sample has)."""
    if ctx.action not in READS_IMAGES.get(ctx.image, ()) or _get(cfg, "dataset.concat_type") != "grid":
        return []
    num_input = _int(_get(cfg, "dataset.num_input"))
    if num_input is None or num_input % 2:
        return []
    grid = _get(cfg, "dataset.grid_map")
    x = _int(grid.get("x")) if isinstance(grid, dict) else None
    y = _int(grid.get("y")) if isinstance(grid, dict) else None
    images = lightings(cfg)
    if x is not None and y is not None and x * y <= images:
        return []
    return [SpecIssue("dataset.grid_map", f"{{x: X, y: Y}} with X*Y = {images} (images per sample)", repr(grid),
                      "the grid loaders fail without a grid_map or with more cells than images — set "
                      f"dataset.grid_map={{x: 2, y: {max(1, images // 2)}}}, or dataset.concat_type=linear")]


def _truthy(value: Any) -> bool:
    return value is not _ABSENT and bool(value)


RUNTIME_RULES: list[Rule] = [
    intervals_within_epochs,
    num_input_matches_lightings,
    image_ext_has_its_dot,
    train_batch_above_one,
    results_dir_set,
    layers_precision_pairs,
    launcher_gpu_fields,
    tensorboard_frequency_within_epochs,
    resume_checkpoint_format,
    grid_concat_has_its_map,
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
            smallest = 2 if ctx.action == "train" else 1      # train asserts batch_size > 1
            fix = (f"set dataset.batch_size={split.rows} or lower, or use a bigger split" if split.rows >= smallest
                   else f"use a split with at least {smallest} rows")
            issues.append(SpecIssue(split.csv_key, f"at least dataset.batch_size ({batch}) rows", f"{split.rows} row(s)",
                                    f"the loader stops with 'Dataset size is smaller than the total batch size' — {fix}"))
        if ctx.action == "train" and split.csv_key == "dataset.train_dataset.csv_path" and split.defect_rows == 0:
            issues.append(SpecIssue(split.csv_key, "a train split with at least one defect row (label other than PASS)",
                                    f"{split.rows} PASS row(s), 0 defect rows",
                                    "the train sampler divides by the number of defect rows (ZeroDivisionError) — "
                                    "add defect samples to the train split"))
    return issues
