"""Generated `--set` override cases for the spec differential (ours vs the containers' merge).

Two families, both seeded and reproducible:
- systematic: for every action of both skills, each kind of value the issue names (ints, floats,
  scientific notation, quoted numbers, bools, nulls, lists vs scalars, mappings, unknown and
  nested unknown keys, option values, values outside the AutoML search range) on representative
  keys, plus the combinations that merge but fail at runtime;
- random: any leaf of the container's config (the recorded ExperimentConfig tree), any probe text
  of its kind or of another kind, one to three overrides per case.

A case is what an agent types: `--set KEY=TEXT` strings; the text is parsed by our CLI.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

TRAIN_SKILL = "tao-train-optical-inspection"
DEPLOY_SKILL = "tao-deploy-optical-inspection"
ACTIONS = {TRAIN_SKILL: ("train", "evaluate", "inference", "export"),
           DEPLOY_SKILL: ("gen_trt_engine", "evaluate", "inference")}
SEED = 11_2026

# What every case of an action starts from (so only the probed key decides): data as URIs (no
# local files), the platform-filled paths as --set values.
BASE_SETS = {
    (TRAIN_SKILL, "train"): ["results_dir=/ws/jobs/train"],
    (TRAIN_SKILL, "evaluate"): ["results_dir=/ws/jobs/evaluate", "evaluate.checkpoint=/ws/jobs/train/train/m.pth"],
    (TRAIN_SKILL, "inference"): ["results_dir=/ws/jobs/inference", "inference.checkpoint=/ws/jobs/train/train/m.pth"],
    (TRAIN_SKILL, "export"): ["results_dir=/ws/jobs/export", "export.checkpoint=/ws/jobs/train/train/m.pth",
                              "export.onnx_file=/ws/jobs/export/model.onnx"],
    (DEPLOY_SKILL, "gen_trt_engine"): ["results_dir=/ws/jobs/engine", "gen_trt_engine.onnx_file=/ws/jobs/export/model.onnx",
                                       "gen_trt_engine.trt_engine=/ws/jobs/engine/model.engine"],
    (DEPLOY_SKILL, "evaluate"): ["results_dir=/ws/jobs/trt_eval", "evaluate.trt_engine=/ws/jobs/engine/model.engine"],
    (DEPLOY_SKILL, "inference"): ["results_dir=/ws/jobs/trt_infer", "inference.trt_engine=/ws/jobs/engine/model.engine"],
}
URI_DATA = {
    (TRAIN_SKILL, "train"): {"train_data": "s3://bucket/train", "eval_data": "s3://bucket/val"},
    (TRAIN_SKILL, "evaluate"): {"eval_data": "s3://bucket/test"},
    (TRAIN_SKILL, "inference"): {"infer_data": "s3://bucket/infer"},
    (TRAIN_SKILL, "export"): {},
    (DEPLOY_SKILL, "gen_trt_engine"): {},
    (DEPLOY_SKILL, "evaluate"): {"eval_data": "s3://bucket/test"},
    (DEPLOY_SKILL, "inference"): {"infer_data": "s3://bucket/infer"},
}

# Probe texts per config node type (YAML, as typed after `--set key=`).
PROBES = {
    "int": ["8", "'8'", "8.0", "1e3", "true", "null", "[8]", "{a: 1}", "-1", "abc", "1_000", "'  7 '", "0x10"],
    "float": ["0.5", "5e-4", "'0.001'", "1", "true", "null", "[0.5]", "abc", "1.0e-3", ".inf", "'1e-3'", "{a: 1}",
              "'nan'"],
    "bool": ["true", "false", "yes", "1", "0", "'true'", "2", "abc", "null", "[true]", "1.5", "'off'", "'3'"],
    "str": ["abc", "5", "true", "null", "[a]", "{a: b}", "1.5", "''", "'5e-4'", "1e5"],
    "list:int": ["[0]", "[0, 1]", "0", "['0']", "[0.5]", "null", "[]", "[true]", "[[0]]", "{a: 0}", "[null]",
                 "[{a: 0}]"],
    "list:float": ["[0.5, 0.5, 0.5]", "0.5", "['0.1', 0.2, 0.3]", "[a]", "null", "[1, 2, 3]", "[true]"],
    "list:str": ["[a]", "a", "[1]", "[[a]]", "null", "[]", "[a, 5e-4]"],
    "dict:int": ["{LowAngleLight: 0}", "{A: '1'}", "{A: 1.5}", "{A: x}", "null", "[A]", "5", "{1: 0}", "{}",
                 "{A: true}", "{A: null}", "{A: [1]}", "{A: '2'}"],
    "struct": ["5", "null", "{}", "[1]", "abc"],
}
# Representative keys for the systematic family (every action gets all of them).
SYSTEMATIC_KEYS = [
    "train.optim.lr", "train.num_epochs", "dataset.batch_size", "dataset.image_width", "model.margin",
    "dataset.augmentation_config.augment", "dataset.image_ext", "train.gpu_ids",
    "dataset.augmentation_config.rgb_input_std", "dataset.input_map", "train.pretrained_model_path",
    "train.tensorboard", "train.optim", "gen_trt_engine.tensorrt.layers_precision",
]
EXTRA_SETS = [
    # unknown keys, nested unknown keys, unknown top-level sections
    ["train.zz_unknown=1"], ["zz_section=1"], ["dataset.train_dataset.zz_path=/x"], ["model.zz.deep=1"],
    ["zz.deep.key=true"], ["train.optim.lr.zz=1"],
    # option values (the schema's enums; the merge takes any string)
    ["model.model_type=Siamese"], ["model.model_type=Siamese_9"], ["dataset.concat_type=grid"],
    ["dataset.concat_type=zigzag"], ["train.optim.type=SGD"], ["gen_trt_engine.tensorrt.data_type=int8"],
    ["gen_trt_engine.tensorrt.data_type='fp32,fp16'"], ["gen_trt_engine.tensorrt.data_type=fp16"],
    # outside the AutoML search range, runs in TAO
    ["model.margin=0.5"], ["dataset.fpratio_sampling=1.5"], ["train.optim.momentum=1.5"], ["dataset.workers=0"],
    ["model.embedding_vectors=0"], ["evaluate.batch_size=-1"], ["export.opset_version=11"],
    # runtime rules (merge fine, fail at start)
    ["train.checkpoint_interval=20"], ["train.validation_interval=11"], ["train.checkpoint_interval=10"],
    ["train.num_epochs=5"], ["train.num_epochs=5", "train.checkpoint_interval=5", "train.validation_interval=5"],
    ["dataset.num_input=3"], ["dataset.num_input=8"],
    ["dataset.input_map={a: 0, b: 1, c: 2}", "dataset.num_input=3"],
    ["dataset.input_map=null"], ["dataset.input_map=null", "dataset.num_input=1"], ["dataset.input_map={}"],
    ["dataset.input_map.ExtraLight=4"], ["dataset.input_map.ExtraLight=4", "dataset.num_input=5"],
    ["dataset.image_ext=jpg"], ["dataset.image_ext=.png"], ["dataset.image_ext=null"], ["dataset.image_ext=."],
    ["dataset.batch_size=1"], ["dataset.batch_size=2"], ["results_dir=null"], ["results_dir=''"],
    ["results_dir=null", "train.results_dir=/ws/jobs/t"], ["results_dir=null", "evaluate.results_dir=/ws/e"],
    ["results_dir=null", "inference.results_dir=/ws/i"], ["results_dir=null", "export.results_dir=/ws/x"],
    ["results_dir=null", "gen_trt_engine.results_dir=/ws/g"],
    ["gen_trt_engine.tensorrt.min_batch_size=4"], ["evaluate.batch_size=4"], ["inference.batch_size=2"],
    ["dataset.image_height=256"], ["train.num_gpus=2"], ["train.num_gpus=2", "train.gpu_ids=[0, 1]"],
    ["gen_trt_engine.tensorrt.layers_precision=[conv1]"], ["gen_trt_engine.tensorrt.layers_precision=['conv1:fp32']"],
    ["train.loss=null"], ["train.resume_training_checkpoint_path=null"], ["encryption_key=1e5"],
]


@dataclass
class SpecCase:
    id: str
    skill: str
    action: str
    sets: list[str]
    family: str                          # systematic | random | local
    data: dict = field(default_factory=dict)

    @property
    def all_sets(self) -> list[str]:
        return BASE_SETS[(self.skill, self.action)] + self.sets


def leaf_kinds(tree: dict, prefix: str = "") -> dict[str, str]:
    """{dotted key: probe kind} over the config tree, sections included (kind `struct`)."""
    out: dict[str, str] = {}
    for name, node in (tree.get("fields") or {}).items():
        key = f"{prefix}{name}"
        kind = node["type"]
        if kind == "struct":
            out[key] = "struct"
            out.update(leaf_kinds(node, key + "."))
        elif kind == "list":
            out[key] = f"list:{node['item']}"
        elif kind == "dict":
            out[key] = f"dict:{node['value']}"
        else:
            out[key] = kind
    return out


def systematic_cases(trees: dict[str, dict]) -> list[SpecCase]:
    cases = []
    for skill, actions in ACTIONS.items():
        kinds = leaf_kinds(trees[skill])
        for action in actions:
            def add(sets, family="systematic"):
                cases.append(SpecCase(f"{family}-{len(cases):04d}-{action}", skill, action, list(sets), family,
                                      dict(URI_DATA[(skill, action)])))
            add([])                                          # the plain build
            for key in SYSTEMATIC_KEYS:
                for text in PROBES[kinds[key]]:
                    add([f"{key}={text}"])
            for sets in EXTRA_SETS:
                add(sets)
    return cases


def random_cases(trees: dict[str, dict], n: int, seed: int = SEED) -> list[SpecCase]:
    rng = random.Random(seed)
    cases = []
    pairs = [(skill, action) for skill, actions in ACTIONS.items() for action in actions]
    all_probes = [text for texts in PROBES.values() for text in texts]
    for index in range(n):
        skill, action = rng.choice(pairs)
        kinds = leaf_kinds(trees[skill])
        keys = list(kinds)
        sets = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            key = rng.choice(keys)
            # mostly a probe of the key's own kind (values TAO may accept), sometimes any probe
            text = rng.choice(PROBES[kinds[key]] if rng.random() < 0.7 else all_probes)
            sets.append(f"{key}={text}")
        cases.append(SpecCase(f"random-{index:04d}-{action}", skill, action, sets, "random",
                              dict(URI_DATA[(skill, action)])))
    return cases
