"""The template override table: where a shipped spec template departs from the generated schema
`default`, and where it deliberately does not.

The schema `default` of nvidia-tao-core (the release in versions.yaml) is not always what the container does when a key
is absent (the runtime default), and one value is not a value at all. Every difference we know
of is decided here, one row each, with the reason; docs/schemas.md repeats the table for
maintainers (a test keeps them in step). Regeneration fails when a row's `schema_default` no
longer matches the schema, so an upstream change forces a new decision instead of drifting.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from tao_skill_bank.errors import EXIT_FINDINGS, UserError

_UNSET = object()


class _Absent:
    """`schema_default` of a key the schema declares but leaves out of its default (runtime None)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


@dataclass(frozen=True)
class TemplateDecision:
    key: str                  # dotted spec key
    schema_default: Any       # what the generated schema says (checked at regeneration)
    runtime_default: Any      # what the container uses when the key is absent
    template_value: Any       # what the shipped template carries
    reason: str

    @property
    def overrides(self) -> bool:
        return self.template_value != self.schema_default


TEMPLATE_DECISIONS: list[TemplateDecision] = [
    TemplateDecision(
        "wandb.enable", True, True, False,
        "Container runs have no Weights & Biases login or network; an enabled logger fails the "
        "job at start. Users who want W&B set it back with --set wandb.enable=true."),
    TemplateDecision(
        "gen_trt_engine.tensorrt.data_type", "fp32,fp16", "fp32", "fp16",
        "The schema default is a list of options, not a value; TensorRT treats any unknown "
        "value as FP32 without a warning. FP16 is the usual optical inspection engine precision."),
    TemplateDecision(
        "dataset.batch_size", 8, 32, 8,
        "Kept: 8 fits the 8 GB GPUs the model targets and is the documented default; the template "
        "sets it explicitly, so the runtime's 32 never applies. Train refuses 1 (see rules.py)."),
    TemplateDecision(
        "dataset.num_input", 4, 8, 4,
        "Kept: 4 matches the four lightings of the template's dataset.input_map."),
    TemplateDecision(
        "dataset.workers", 1, 8, 8,
        "Runtime value: one loader worker starves the GPU, and container runs share host IPC "
        "(--ipc=host), so eight workers have the shared memory they need."),
    TemplateDecision(
        "dataset.augmentation_config.rgb_input_std", [0.226, 0.226, 0.226], [0.229, 0.224, 0.225],
        [0.229, 0.224, 0.225],
        "Runtime value: the ImageNet standard deviation that pairs with the ImageNet mean already "
        "in the template; a model trained from the template then normalises like a key-less run."),
    TemplateDecision(
        "evaluate.batch_size", 8, -1, 8,
        "Kept: the schema minimum is 1, so the runtime's -1 would fail validation; 8 is explicit."),
    TemplateDecision(
        "export.opset_version", 12, 17, 17,
        "Runtime value: the container's exporter default, which the Deploy image's TensorRT reads."),
    TemplateDecision(
        "train.clip_grad_norm", 1.0, 0.0, 0.0,
        "Runtime value: the container trains without gradient clipping when the key is absent; "
        "template runs and key-less runs should train the same way."),
    # Best-k checkpointing, so a direct (non-AutoML) run has the `model_best_{epoch:03d}.pth` that
    # `checkpoint resolve --select best` and the train SKILL.md recipe pick; AutoML turns the same on.
    TemplateDecision(
        "train.checkpointer.enable_topk", False, False, True,
        "Without it a direct run saves only periodic model_epoch_* files and 'the best checkpoint' does "
        "not exist; with it the checkpointer also keeps model_best_{epoch:03d}.pth (additive, periodic "
        "files stay because replace_periodic stays false)."),
    TemplateDecision(
        "train.checkpointer.monitor", ABSENT, None, "val_acc",
        "The metric AutoML monitors for optical inspection; named explicitly so 'best' means the same "
        "thing on direct and AutoML runs instead of the network's unnamed default."),
    TemplateDecision(
        "train.checkpointer.mode", ABSENT, None, "max",
        "val_acc is an accuracy: higher is better. Named explicitly for the same reason as monitor."),
    TemplateDecision(
        "train.checkpointer.save_top_k", 1, 1, 1,
        "Kept: one best file, so --select best has exactly one answer (the file names do not rank several)."),
]


def lookup(data: dict, dotted: str) -> Any:
    from tao_skill_bank.oi.specdoc import get_dotted

    return get_dotted(data, dotted, _UNSET)


def apply_template_decisions(default: dict, *, source: str = "schema default",
                             decisions: list[TemplateDecision] | None = None) -> tuple[dict, list[str]]:
    """The template for one action: the schema default with every applicable decision applied.

    Returns (template, keys whose value changed). A row applies when its key is in this action's
    default; a row whose recorded schema default differs from the schema raises (the decision
    must be revisited), kept rows included.
    """
    template = copy.deepcopy(default)
    applied = []
    for row in TEMPLATE_DECISIONS if decisions is None else decisions:
        current = lookup(template, row.key)
        parent_key = row.key.rsplit(".", 1)[0] if "." in row.key else None
        if current is _UNSET:
            # an ABSENT row adds its key where the schema default holds the parent block
            parent = lookup(template, parent_key) if parent_key else template
            if row.schema_default is not ABSENT or not isinstance(parent, dict):
                continue
            parent[row.key.rsplit(".", 1)[-1]] = copy.deepcopy(row.template_value)
            applied.append(row.key)
            continue
        if current != row.schema_default:
            raise UserError(f"the override table expects schema default {row.schema_default!r}, the "
                            f"{source} now says {current!r}", field=row.key,
                            fix="re-decide this row in tao_skill_bank/oi/overrides.py and docs/schemas.md",
                            exit_code=EXIT_FINDINGS)
        parent = lookup(template, row.key.rsplit(".", 1)[0]) if "." in row.key else template
        if row.overrides:
            parent[row.key.rsplit(".", 1)[-1]] = copy.deepcopy(row.template_value)
            applied.append(row.key)
    return template, applied
