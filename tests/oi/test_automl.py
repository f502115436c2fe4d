import json

import pytest
import yaml

from support import OI_SKILL, assert_one_line_error, make_skill_bank, oi_skill_info, run_cli
from tao_skill_bank.errors import UserError
from tao_skill_bank.oi.automl import decide_route, policy_from_request, resolve_policy, route_for_skill


@pytest.mark.parametrize("text", [
    "Turn off AutoML and train on /data/train",
    "disable automl for this one",
    "no HPO please",
    "plain training on these tarballs",
    "train without AutoML",
    "skip hyperparameter search",
    "Skip the hyper-parameter tuning, just train",
    "automl_policy: off",
    "I don't want HPO",
    "Don't use AutoML, just plain training",
    "switch AutoML off",
    "train with AutoML disabled",
    "no need for AutoML this time",
    "AutoML is not needed here",
    "HPO isn't necessary, train once",
])
def test_off_wording(text):
    assert policy_from_request(text).policy == "off"


@pytest.mark.parametrize("text", [
    "don't disable automl",
    "do not turn off AutoML",
    "no need to disable AutoML",
    "train with AutoML",
    "keep AutoML on",
    "run HPO over the margin",
])
def test_on_wording_including_negated_off(text):
    assert policy_from_request(text).policy == "on"


@pytest.mark.parametrize("text", ["train an AOI Siamese model on these tarballs", "", None,
                                  "evaluate the best checkpoint"])
def test_silent_requests_say_nothing(text):
    assert policy_from_request(text) is None


def test_conflicting_request_is_an_error():
    with pytest.raises(UserError, match="both on and off"):
        policy_from_request("use AutoML but no HPO")


def test_explicit_policy_beats_request_and_default_is_on():
    assert resolve_policy("on", "disable AutoML")[:2] == ("on", "explicit")
    assert resolve_policy(None, "disable AutoML")[:2] == ("off", "request")
    assert resolve_policy(None, "train it")[:2] == ("on", "default")


def _decide(**overrides):
    base = dict(skill="s", action="train", skill_dir="/s", automl_enabled=True, policy="on",
                policy_source="default", policy_why="default", missing=[])
    return decide_route(**{**base, **overrides})


def test_decide_route_table():
    assert _decide().route == "tao-run-automl"
    assert _decide(policy="off").route == "direct"
    assert _decide(automl_enabled=False).route == "direct"
    missing = _decide(missing=["schemas/train.schema.json"])
    assert missing.route == "direct"
    assert missing.reason.startswith("AutoML is enabled but not runnable: schemas/train.schema.json")
    evaluate = _decide(action="evaluate")
    assert evaluate.route == "direct" and "not a train action" in evaluate.reason


def test_route_for_skill_checks_files(tmp_path):
    root = make_skill_bank(tmp_path)
    skill = root / "skills" / OI_SKILL
    assert route_for_skill(skill, "train").route == "tao-run-automl"
    (skill / "references" / "spec_template_train.yaml").unlink()
    decision = route_for_skill(skill, "train")
    assert decision.route == "direct" and decision.missing == ["references/spec_template_train.yaml"]
    (skill / "references" / "spec_template_train.yaml").write_text("train: [unclosed\n")
    assert "does not parse" in route_for_skill(skill, "train").missing[0]
    # policy off never inspects files: nothing is reported missing
    assert route_for_skill(skill, "train", policy="off").missing == []


def test_cli_json_default_route(tmp_path):
    root = make_skill_bank(tmp_path)
    result = run_cli("--bank", root, "automl", "route", "--skill", OI_SKILL, "--action", "train", "--json")
    assert result.code == 0, result.stderr
    data = result.json()
    assert data["route"] == "tao-run-automl" and data["policy"] == "on" and data["missing"] == []
    assert data["skill_dir"] == str(root / "skills" / OI_SKILL)


def test_cli_request_off_and_explicit_override(tmp_path):
    root = make_skill_bank(tmp_path)
    off = run_cli("--bank", root, "automl", "route", "--skill", OI_SKILL, "--action", "train",
                  "--request", "plain training please", "--json").json()
    assert (off["route"], off["policy"], off["policy_source"]) == ("direct", "off", "request")
    forced = run_cli("--bank", root, "automl", "route", "--skill", OI_SKILL, "--action", "train",
                     "--request", "plain training please", "--policy", "on", "--json").json()
    assert forced["route"] == "tao-run-automl"


def test_cli_missing_schema_and_disabled_flag(tmp_path):
    root = make_skill_bank(tmp_path / "a", train_files=False)
    data = run_cli("--bank", root, "automl", "route", "--skill", OI_SKILL, "--action", "train", "--json").json()
    assert data["route"] == "direct"
    assert data["missing"] == ["schemas/train.schema.json", "references/spec_template_train.yaml"]
    assert "AutoML is enabled but not runnable" in data["reason"]
    off_root = make_skill_bank(tmp_path / "b", oi_skill_info(automl_enabled=False))
    data = run_cli("--bank", off_root, "automl", "route", "--skill", OI_SKILL, "--action", "train", "--json").json()
    assert data["route"] == "direct" and "automl_enabled is false" in data["reason"]


def test_cli_non_train_action_stays_in_skill(tmp_path):
    root = make_skill_bank(tmp_path)
    result = run_cli("--bank", root, "automl", "route", "--skill", OI_SKILL, "--action", "export",
                     "--policy", "on")
    assert result.code == 0
    assert "route: direct" in result.stdout and "not a train action" in result.stdout


def test_cli_unknown_action_and_conflict_are_one_line_errors(tmp_path):
    root = make_skill_bank(tmp_path)
    bad = run_cli("--bank", root, "automl", "route", "--skill", OI_SKILL, "--action", "dataset_convert")
    assert_one_line_error(bad, "dataset_convert", "train")
    conflict = run_cli("--bank", root, "automl", "route", "--skill", OI_SKILL, "--action", "train",
                       "--request", "enable AutoML, plain training", "--json")
    assert_one_line_error(conflict, "--policy")
    assert json.loads(conflict.stdout)["exit_code"] == 1


def test_shipped_train_skill_routes_to_automl(bank_root):
    info_path = bank_root / "skills" / OI_SKILL / "references" / "skill_info.yaml"
    if not info_path.is_file():
        pytest.skip("skill_info.yaml of the train skill not written yet")
    assert yaml.safe_load(info_path.read_text())["automl_enabled"] is True
    data = run_cli("--bank", bank_root, "automl", "route", "--skill", OI_SKILL, "--action", "train", "--json").json()
    assert data["route"] == "tao-run-automl", data
