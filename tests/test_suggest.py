"""Did-you-mean suggestions for mistyped flags and keys."""

import pytest

from tao_skill_bank.suggest import did_you_mean, hint

RUN_FLAGS = ["--exp-dir", "--dataset-root", "--inference-dir", "--train-config", "--min-recall", "--top-k",
             "--threshold", "--engine", "--workspace", "--out", "--dry-run", "--json", "--help"]
GAP_KEYS = ["min_recall", "top_k_per_label", "threshold", "inference_results_dir", "train_config", "dataset_root",
            "results_dir"]


@pytest.mark.parametrize("word, choices, expected", [
    ("--min_recall", RUN_FLAGS, ["--min-recall"]),          # underscore for hyphen
    ("--Top-K", RUN_FLAGS, ["--top-k"]),                     # case
    ("--exp_dir", RUN_FLAGS, ["--exp-dir"]),
    ("--dataset-rot", RUN_FLAGS, ["--dataset-root"]),        # a typo
    ("top_k", GAP_KEYS, ["top_k_per_label"]),               # the start of the real key
    ("per_label", GAP_KEYS, ["top_k_per_label"]),           # its end
    ("min-recall", GAP_KEYS, ["min_recall"]),
    ("--banana", RUN_FLAGS, []),                             # nothing close: no guess
    ("", RUN_FLAGS, []),
])
def test_did_you_mean(word, choices, expected):
    assert did_you_mean(word, choices) == expected


def test_hint_text():
    assert hint("top_k", GAP_KEYS) == "did you mean top_k_per_label?"
    assert hint("zzz", GAP_KEYS) == ""
    assert hint("resul", ["results_dir", "result_dir"]) == "did you mean result_dir or results_dir?"
