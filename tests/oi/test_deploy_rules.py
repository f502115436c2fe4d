"""Semantic rules of the TensorRT (Deploy) specs: pure functions over spec dicts."""

from __future__ import annotations

import copy

import pytest

from support import dict_with

from tao_skill_bank.oi import deploy_rules
from tao_skill_bank.oi.deploy_rules import (DEPLOY_RULES, DEPLOY_SKILL, check_batch_in_profile,
                                            check_batch_profile, check_data_type,
                                            check_int8_calibration, check_square_images,
                                            engine_profile)

BASE = {
    "results_dir": "/ws/job/gen_trt_engine",
    "dataset": {"image_width": 128, "image_height": 128},
    "gen_trt_engine": {
        "onnx_file": "/ws/export/model.onnx",
        "trt_engine": "/ws/job/model.engine",
        "tensorrt": {
            "data_type": "fp16", "min_batch_size": 1, "opt_batch_size": 1, "max_batch_size": 1,
            "calibration": {"cal_image_dir": [], "cal_cache_file": ""},
        },
    },
}


def spec_with(**dotted):
    return dict_with(BASE, **dotted)


def run_all(action, spec):
    return [issue for rule in DEPLOY_RULES for issue in rule(action, spec)]


def test_the_usual_fp16_batch1_spec_passes_every_rule():
    assert run_all("gen_trt_engine", BASE) == []


@pytest.mark.parametrize("value", ["fp16", "FP16", "fp32", "bf16"])
def test_single_precisions_are_accepted(value):
    assert check_data_type("gen_trt_engine", spec_with(gen_trt_engine__tensorrt__data_type=value)) == []


def test_option_list_data_type_is_refused_with_the_silent_fp32_reason():
    issues = check_data_type("gen_trt_engine", spec_with(gen_trt_engine__tensorrt__data_type="fp32,fp16"))
    assert len(issues) == 1
    issue = issues[0]
    assert issue.path == "gen_trt_engine.tensorrt.data_type"
    assert "silently" in issue.message and "FP32" in issue.message
    assert "fp16" in issue.message and issue.got == "'fp32,fp16'"


@pytest.mark.parametrize("value", ["fp8", "", 16, None])
def test_unknown_data_types_are_refused(value):
    issues = check_data_type("gen_trt_engine", spec_with(gen_trt_engine__tensorrt__data_type=value))
    assert [i.path for i in issues] == ["gen_trt_engine.tensorrt.data_type"]


def test_profile_out_of_order_is_refused():
    spec = spec_with(gen_trt_engine__tensorrt__min_batch_size=1, gen_trt_engine__tensorrt__opt_batch_size=8,
                     gen_trt_engine__tensorrt__max_batch_size=4)
    issues = check_batch_profile("gen_trt_engine", spec)
    assert len(issues) == 1
    assert issues[0].got == "min=1, opt=8, max=4"
    assert "min <= opt <= max" in issues[0].message


def test_min_above_max_names_the_max_key():
    spec = spec_with(gen_trt_engine__tensorrt__min_batch_size=8, gen_trt_engine__tensorrt__opt_batch_size=8,
                     gen_trt_engine__tensorrt__max_batch_size=2)
    assert [i.path for i in check_batch_profile("gen_trt_engine", spec)] == ["gen_trt_engine.tensorrt.max_batch_size"]


def test_ordered_profile_with_equal_ends_passes():
    spec = spec_with(gen_trt_engine__tensorrt__min_batch_size=2, gen_trt_engine__tensorrt__opt_batch_size=2,
                     gen_trt_engine__tensorrt__max_batch_size=2)
    assert check_batch_profile("gen_trt_engine", spec) == []


def test_profile_is_unknown_when_a_bound_is_missing_or_not_an_integer():
    assert engine_profile({"gen_trt_engine": {"tensorrt": {"min_batch_size": 1, "max_batch_size": 4}}}) is None
    assert engine_profile(spec_with(gen_trt_engine__tensorrt__opt_batch_size="???")) is None
    assert engine_profile(BASE) == {"min_batch_size": 1, "opt_batch_size": 1, "max_batch_size": 1}


@pytest.mark.parametrize("action", ["evaluate", "inference"])
def test_batch_outside_the_recorded_profile_is_refused(action):
    spec = {action: {"batch_size": 8}, "gen_trt_engine": {"tensorrt": {
        "min_batch_size": 1, "opt_batch_size": 2, "max_batch_size": 4}}}
    issues = check_batch_in_profile(action, spec)
    assert [i.path for i in issues] == [f"{action}.batch_size"]
    assert issues[0].got == "8" and "1 to 4" in issues[0].message


@pytest.mark.parametrize("batch", [1, 3, 4])
def test_batch_inside_the_profile_passes(batch):
    spec = {"inference": {"batch_size": batch}, "gen_trt_engine": {"tensorrt": {
        "min_batch_size": 1, "opt_batch_size": 2, "max_batch_size": 4}}}
    assert check_batch_in_profile("inference", spec) == []


@pytest.mark.parametrize("tensorrt, path, got", [
    ({"min_batch_size": 8, "max_batch_size": 4}, "max_batch_size", "min=8, max=4"),
    ({"opt_batch_size": 8, "max_batch_size": 4}, "max_batch_size", "opt=8, max=4"),
    ({"min_batch_size": 4, "opt_batch_size": 2}, "opt_batch_size", "min=4, opt=2"),
])
def test_partial_profile_out_of_order_is_refused(tensorrt, path, got):
    issues = check_batch_profile("gen_trt_engine", {"gen_trt_engine": {"tensorrt": tensorrt}})
    assert [(i.path, i.got) for i in issues] == [(f"gen_trt_engine.tensorrt.{path}", got)]


def test_partial_ordered_profile_passes():
    assert check_batch_profile("gen_trt_engine", {"gen_trt_engine": {"tensorrt": {"min_batch_size": 1,
                                                                                   "max_batch_size": 4}}}) == []


@pytest.mark.parametrize("tensorrt, batch, refused, phrase", [
    ({"max_batch_size": 4}, 8, True, "up to 4"),
    ({"max_batch_size": 4}, 4, False, ""),
    ({"min_batch_size": 2}, 1, True, "from 2 up"),
    ({"min_batch_size": 1, "max_batch_size": 4, "opt_batch_size": "???"}, 8, True, "from 1 to 4"),
])
def test_batch_is_checked_against_the_bounds_that_are_present(tensorrt, batch, refused, phrase):
    issues = check_batch_in_profile("inference", {"inference": {"batch_size": batch}, "gen_trt_engine": {"tensorrt": tensorrt}})
    assert bool(issues) is refused
    if refused:
        assert issues[0].path == "inference.batch_size" and phrase in issues[0].message


def test_batch_is_not_judged_without_a_profile():
    assert check_batch_in_profile("inference", {"inference": {"batch_size": 64}}) == []


def test_int8_without_calibration_inputs_names_both_keys():
    spec = spec_with(gen_trt_engine__tensorrt__data_type="int8")
    spec["gen_trt_engine"]["tensorrt"]["calibration"] = {"cal_image_dir": "???", "cal_cache_file": "???"}
    issues = check_int8_calibration("gen_trt_engine", spec)
    assert [i.path for i in issues] == ["gen_trt_engine.tensorrt.calibration.cal_image_dir",
                                        "gen_trt_engine.tensorrt.calibration.cal_cache_file"]
    assert "--calibration-data" in issues[0].message


@pytest.mark.parametrize("dirs", [[], ["???"], [""], "/ws/cal", None])
def test_int8_refuses_empty_or_unset_image_dirs(dirs):
    spec = spec_with(gen_trt_engine__tensorrt__data_type="int8")
    spec["gen_trt_engine"]["tensorrt"]["calibration"] = {"cal_image_dir": dirs, "cal_cache_file": "/ws/job/cal.bin"}
    assert [i.path for i in check_int8_calibration("gen_trt_engine", spec)] == [
        "gen_trt_engine.tensorrt.calibration.cal_image_dir"]


def test_int8_with_calibration_inputs_passes_and_fp16_needs_none():
    spec = spec_with(gen_trt_engine__tensorrt__data_type="int8")
    spec["gen_trt_engine"]["tensorrt"]["calibration"] = {"cal_image_dir": ["/ws/cal/images"],
                                                         "cal_cache_file": "/ws/job/cal.bin"}
    assert check_int8_calibration("gen_trt_engine", spec) == []
    unset = spec_with()
    unset["gen_trt_engine"]["tensorrt"]["calibration"] = {"cal_image_dir": "???", "cal_cache_file": "???"}
    assert check_int8_calibration("gen_trt_engine", unset) == []


@pytest.mark.parametrize("action", ["gen_trt_engine", "evaluate", "inference"])
def test_non_square_images_are_refused_with_the_reason(action):
    issues = check_square_images(action, spec_with(dataset__image_width=128, dataset__image_height=512))
    assert len(issues) == 1
    assert issues[0].path == "dataset.image_height"
    assert "transposed" in issues[0].message and "square" in issues[0].message


def test_rules_are_registered_for_the_deploy_skill_only():
    from tao_skill_bank.oi import rules

    registered = rules.rules_for(DEPLOY_SKILL)
    assert [r for r in registered if r in deploy_rules.DEPLOY_RULES] == deploy_rules.DEPLOY_RULES
    assert not set(deploy_rules.DEPLOY_RULES) & set(rules.rules_for(rules.TRAIN_SKILL))
    bad = spec_with(gen_trt_engine__tensorrt__data_type="fp32,fp16")
    assert [i.path for i in rules.check(DEPLOY_SKILL, "gen_trt_engine", bad)] == ["gen_trt_engine.tensorrt.data_type"]
