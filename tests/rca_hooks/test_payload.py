import json
from pathlib import Path

from tao_skill_bank.rca_hooks.payload import (parse_payload, report_results_dir, shell_command, tool_output_text,
                                              written_paths)

OUT_REL = "exp/rca_results/2025-03-04_050607"


def test_parse_payload_rejects_junk():
    assert parse_payload(b"") is None
    assert parse_payload(b"{not json") is None
    assert parse_payload(b"[1, 2]") is None
    assert parse_payload(b"\xff\xfe") is None
    assert parse_payload(json.dumps({"a": 1}).encode()) == {"a": 1}


def test_write_edit_multiedit_of_the_report_are_recognised(tmp_path):
    report = tmp_path / OUT_REL / "RCA_Report.md"
    for tool in ("Write", "Edit", "MultiEdit"):
        payload = {"tool_name": tool, "cwd": str(tmp_path), "tool_input": {"file_path": str(report)}}
        assert report_results_dir(payload) == report.parent


def test_relative_and_dotdot_paths_resolve_against_cwd(tmp_path):
    payload = {"tool_name": "Write", "cwd": str(tmp_path / "x"),
               "tool_input": {"file_path": f"../{OUT_REL}/RCA_Report.md"}}
    assert report_results_dir(payload) == tmp_path / OUT_REL


def test_other_files_and_tools_are_ignored(tmp_path):
    for payload in (
        {"tool_name": "Write", "tool_input": {"file_path": str(tmp_path / OUT_REL / "notes.md")}},
        {"tool_name": "Write", "tool_input": {"file_path": str(tmp_path / "RCA_Report.md")}},  # not a results folder
        {"tool_name": "Read", "tool_input": {"file_path": str(tmp_path / OUT_REL / "RCA_Report.md")}},
        {"tool_name": "Write", "tool_input": "nonsense"},
        {"tool_name": "Write", "tool_input": {"file_path": 7}},
    ):
        assert report_results_dir(payload) is None


def test_custom_folder_with_gap_artifacts_counts_as_results_folder(tmp_path):
    (tmp_path / "custom").mkdir()
    (tmp_path / "custom" / "threshold.txt").write_text("0.5")
    payload = {"tool_name": "Edit", "tool_input": {"file_path": str(tmp_path / "custom" / "RCA_Report.md")}}
    assert report_results_dir(payload) == tmp_path / "custom"


def test_codex_apply_patch_adding_or_updating_the_report(tmp_path):
    patch = f"*** Begin Patch\n*** Update File: src/a.py\n@@\n-x\n+y\n*** Add File: {OUT_REL}/RCA_Report.md\n+# RCA\n*** End Patch\n"
    for tool_input in ({"command": patch}, {"input": patch}, patch):
        payload = {"tool_name": "apply_patch", "cwd": str(tmp_path), "tool_input": tool_input}
        assert written_paths(payload)[-1] == f"{OUT_REL}/RCA_Report.md"
        assert report_results_dir(payload) == tmp_path / OUT_REL
    deleted = {"tool_name": "apply_patch", "cwd": str(tmp_path),
               "tool_input": {"command": f"*** Begin Patch\n*** Delete File: {OUT_REL}/RCA_Report.md\n*** End Patch"}}
    assert report_results_dir(deleted) is None


def test_shell_command_and_output_are_read_defensively():
    assert shell_command({"tool_name": "Bash", "tool_input": {"command": "ls"}}) == "ls"
    assert shell_command({"tool_name": "Bash", "tool_input": {"command": ["docker", "run"]}}) == "docker run"
    assert shell_command({"tool_name": "apply_patch", "tool_input": {"command": "x"}}) == ""
    assert shell_command({"tool_input": None}) == ""
    text = tool_output_text({"tool_response": {"stdout": "out", "stderr": "err", "exit_code": 1}, "error": "boom"})
    assert text.split("\n") == ["out", "err", "boom"]
    assert tool_output_text({"tool_response": "plain"}) == "plain"
    assert tool_output_text({"tool_response": {"stdout": "x" * 50}}, limit=10) == "x" * 10
