"""Container keys, spec + overrides, train YAML and inference.csv reading."""

from __future__ import annotations

import pytest
import yaml

from tao_skill_bank.errors import UserError
from tao_skill_bank.gaps import config as gc
from tao_skill_bank.gaps import inputs

REQUIRED = ["inference_results_dir=/in", "train_config=/t.yaml", "results_dir=/out"]


def test_defaults_are_the_containers():
    cfg = gc.load_config(None, REQUIRED)
    assert (cfg.kpi_media_path, cfg.threshold, cfg.min_recall, cfg.top_k_per_label) == ("", -1.0, 1.0, 50)
    assert cfg.swept


def test_spec_then_overrides_win(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("inference_results_dir: /a\ntrain_config: /t.yaml\nresults_dir: /r\nmin_recall: 0.9\n"
                    "top_k_per_label: 7\nkpi_media_path: /m\n")
    cfg = gc.load_config(spec, ["min_recall=0.5", "threshold=0", "kpi_media_path="])
    assert (cfg.min_recall, cfg.top_k_per_label, cfg.threshold, cfg.kpi_media_path) == (0.5, 7, 0.0, "")
    assert not cfg.swept and isinstance(cfg.threshold, float)


def test_written_spec_round_trips_with_no_placeholder(tmp_path):
    cfg = gc.load_config(None, REQUIRED + ["min_recall=0.75", "top_k_per_label=3"])
    path = gc.write_spec(cfg, tmp_path / "s.yaml")
    text = path.read_text()
    assert "???" not in text and list(yaml.safe_load(text)) == list(gc._KEY_ORDER)
    assert gc.load_config(path, []) == cfg


@pytest.mark.parametrize("overrides, field, needle", [
    (["top_k_per_label=0"], "top_k_per_label", "at least 1"),
    (["top_k_per_label=2.5"], "top_k_per_label", "integer"),
    (["min_recall=1.5"], "min_recall", "outside [0, 1]"),
    (["min_recall=-0.1"], "min_recall", "outside [0, 1]"),
    (["min_recall=high"], "min_recall", "finite number"),
    (["threshold=nan"], "threshold", "finite number"),
    (["min_recal=0.9"], "min_recal", "did you mean 'min_recall'"),
    (["results_dir=???"], "results_dir", "???"),
    (["just_a_word"], "just_a_word", "key=value"),
])
def test_bad_values_are_one_clear_error(overrides, field, needle):
    with pytest.raises(UserError) as err:
        gc.load_config(None, REQUIRED + overrides)
    assert err.value.field == field and needle in err.value.one_line()


def test_missing_required_key_and_spec_placeholder(tmp_path):
    with pytest.raises(UserError, match="required key missing") as err:
        gc.load_config(None, REQUIRED[:2])
    assert err.value.field == "results_dir"
    spec = tmp_path / "spec.yaml"
    spec.write_text("inference_results_dir: ???\ntrain_config: /t\nresults_dir: /r\n")
    with pytest.raises(UserError, match="placeholder") as err:
        gc.load_config(spec, [])
    assert err.value.file == str(spec)
    # an override resolves the placeholder
    assert gc.load_config(spec, ["inference_results_dir=/x"]).inference_results_dir == "/x"


def test_unknown_key_in_spec_names_the_spec(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("output_dir: /r\n")
    with pytest.raises(UserError) as err:
        gc.load_config(spec, REQUIRED)
    assert err.value.file == str(spec) and err.value.field == "output_dir"


def _train(tmp_path, classify):
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump({"dataset": {"classify": classify}}, sort_keys=False))
    return path


def test_train_config_dict_keeps_yaml_order_not_index_order(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("dataset:\n  classify:\n    input_map:\n      WhiteLight: 0\n      LowAngleLight: 3\n"
                    "      SolderLight: 1\n    image_ext: .jpg\n")
    info = inputs.read_train_config(path)
    assert info.lightings == ["WhiteLight", "LowAngleLight", "SolderLight"] and info.image_ext == ".jpg"


def test_train_config_list_input_map(tmp_path):
    assert inputs.read_train_config(_train(tmp_path, {"input_map": ["B", "A"], "image_ext": ".png"})).lightings == ["B", "A"]


@pytest.mark.parametrize("classify, field", [
    ({"image_ext": ".png"}, "dataset.classify.input_map"),
    ({"input_map": {}, "image_ext": ".png"}, "dataset.classify.input_map"),
    ({"input_map": ["A"]}, "dataset.classify.image_ext"),
])
def test_train_config_missing_fields(tmp_path, classify, field):
    with pytest.raises(UserError) as err:
        inputs.read_train_config(_train(tmp_path, classify))
    assert err.value.field == field and err.value.file.endswith("train.yaml")


def test_train_config_missing_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        inputs.read_train_config(tmp_path / "nope.yaml")


def _csv(tmp_path, text):
    folder = tmp_path / "inf"
    folder.mkdir(exist_ok=True)
    (folder / "inference.csv").write_text(text)
    return folder


def _read(folder):
    """(columns as Python lists, score column) from the one CSV reader the engine uses."""
    inference = inputs.read_inference_table(folder)
    table = inference.table
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    columns["siamese_score_type"] = table.schema.field("siamese_score").type
    return columns, inference.score_column


def test_reads_ids_as_text_and_scores_as_float(tmp_path):
    folder = _csv(tmp_path, "input_path,object_name,label,siamese_score,other\n"
                            "0007,0001,PASS,0.25,z\nd,o2,SCRATCH,0.5,z\n")
    frame, column = _read(folder)
    assert column == "siamese_score"
    assert frame["object_name"] == ["0001", "o2"] and frame["input_path"] == ["0007", "d"]
    assert frame["label"] == ["PASS", "SCRATCH"]
    assert str(frame["siamese_score_type"]) == "double" and frame["siamese_score"] == [0.25, 0.5]


@pytest.mark.parametrize("column,values,shown", [
    ("object_name", ["0001", "2"], "'0001' becomes '1'"), ("input_path", ["07", "7"], "'07' becomes '7'"),
    ("label", ["PASS", "1.50"], None), ("label", ["07", "1"], "'07' becomes '7'"),
    ("object_name", ["1.50", "2"], "'1.50' becomes '1.5'"), ("object_name", ["true", "False"], "'true' becomes 'True'")])
def test_a_column_the_container_would_rewrite_as_numbers_is_refused(tmp_path, column, values, shown):
    """pandas reads a column made only of numbers (or booleans) as numbers and writes str() of them
    back: '0001' -> '1'. Where that changes the text the run is refused, saying so."""
    rows = {"input_path": ["d", "d"], "object_name": ["o1", "o2"], "label": ["PASS", "SCRATCH"]} | {column: values}
    folder = _csv(tmp_path, "input_path,object_name,label,siamese_score\n" + "".join(
        f"{rows['input_path'][i]},{rows['object_name'][i]},{rows['label'][i]},0.{i + 1}\n" for i in range(2)))
    if shown is None:  # 'PASS' is text: pandas keeps the whole column as text
        assert _read(folder)[0][column] == values
        return
    with pytest.raises(UserError, match="container.s pandas reads this column") as err:
        _read(folder)
    assert err.value.field == column and shown in str(err.value)


def test_plain_numbers_the_container_writes_back_unchanged_are_read(tmp_path):
    folder = _csv(tmp_path, "input_path,object_name,label,siamese_score\n1,10,PASS,0.1\n2,-3,7,0.2\n")
    assert _read(folder)[0]["object_name"] == ["10", "-3"]


def test_utf8_bom_and_labels_that_only_look_missing(tmp_path):
    folder = _csv(tmp_path, "\ufeffinput_path,object_name,label,siamese_score\nd,o, NA ,0.1\nd,p,n/a ,0.2\n")
    frame, _ = _read(folder)
    assert frame["label"] == [" NA ", "n/a "]  # pandas keeps these as text too


def test_deploy_output_score_column_is_accepted(tmp_path, caplog):
    folder = _csv(tmp_path, "input_path,object_name,label,output_score\nd,o,PASS,0.1\n")
    with caplog.at_level("INFO"):
        frame, column = _read(folder)
    assert column == "output_score" and list(frame)[-2] == "siamese_score"
    assert "output_score" in caplog.text


@pytest.mark.parametrize("text, field, needles", [
    ("input_path,label,siamese_score\nd,PASS,0.1\n", "object_name", ["missing columns: object_name"]),
    ("input_path,object_name,label\nd,o,PASS\n", "siamese_score (or output_score)", ["siamese_score"]),
    ("input_path,object_name,label,siamese_score\nd,o,PASS,0.1\nd,o,PASS,abc\nd,o,PASS,x\n", "siamese_score",
     ["2 row(s)", "not a number", "CSV lines 3, 4"]),
    ("input_path,object_name,label,siamese_score\nd,o,PASS,0.1\nd,o,PASS,nan\nd,o,PASS,\n", "siamese_score",
     ["2 row(s)", "NaN", "CSV lines 3, 4"]),
    ("input_path,object_name,label,siamese_score\nd,o,PASS,inf\n", "siamese_score", ["1 row(s)", "CSV lines 2"]),
    ("input_path,object_name,label,siamese_score\n", "inference.csv", ["no data rows"]),
    ("", "inference.csv", ["empty CSV"]),
    ("input_path,object_name,label,siamese_score\n,o,PASS,0.1\n", "input_path", ["empty"]),
    ("input_path,object_name,label,siamese_score\nd,,PASS,0.1\n", "object_name", ["empty"]),
    ("input_path,object_name,label,siamese_score\nd,o,PASS,0.1\nd,p,,0.2\nd,q,None,0.3\nd,r,NA,0.4\n", "label",
     ["3 row(s)", "missing", "CSV lines 3, 4, 5"]),
])
def test_bad_csv_is_one_clear_error(tmp_path, text, field, needles):
    folder = _csv(tmp_path, text)
    with pytest.raises(UserError) as err:
        inputs.read_inference_table(folder)
    assert err.value.field == field, err.value.one_line()
    assert err.value.file.endswith("inference.csv")
    for needle in needles:
        assert needle in err.value.one_line()


def test_missing_folder_and_missing_csv(tmp_path):
    with pytest.raises(UserError, match="folder not found"):
        inputs.read_inference_table(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="inference.csv not found"):
        inputs.read_inference_table(tmp_path / "empty")
