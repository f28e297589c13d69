"""Train / predict / explain / reproduce on the real seed knowledge base (short real Keras and PBP
training: 2 members, few epochs), through the Python API and the CLI."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import filmkb
from filmkb import kb
from filmkb.ml import paper_run
from filmkb.cli import main
from filmkb.ml.lstm import PAPER

QUICK = PAPER.replace(epochs=40)
TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "templates" / "films.csv"


@pytest.fixture(scope="module")
def trained(built_db, tmp_path_factory):
    """A private database copy with one quick train run (2 LSTM + 2 PBP members)."""
    root = tmp_path_factory.mktemp("trained")
    path = str(root / "filmkb.duckdb")
    shutil.copy2(built_db, path)
    result = filmkb.train(path, model="paper", repeats=2, lstm=QUICK)
    return path, result


def _copy(trained, tmp_path):
    path, result = trained
    target = str(tmp_path / "filmkb.duckdb")
    shutil.copy2(path, target)
    return target, result


def test_train_saves_keras_files_pbp_parameters_and_records_the_run(trained):
    path, res = trained
    files = sorted(p.name for p in (res.directory / "lstm").glob("*.keras"))
    assert files == ["member_000.keras", "member_001.keras"]
    assert (res.directory / "pbp_members.npz").stat().st_size > 0
    manifest = json.loads((res.directory / "manifest.json").read_text())
    assert manifest["run_id"] == res.run_id and manifest["data_hash"] == res.data_hash
    assert res.directory.parent == Path(path).resolve().parent / "models"
    with kb.open(path) as k:
        run = k.sql("SELECT * FROM model_runs WHERE id = ?", [res.run_id]).iloc[0]
        matrix = k.descriptor_matrix()
    assert run["kind"] == "train" and run["models_dir"] == str(res.directory) and run["n_films"] == len(matrix) == 26
    assert run["code_version"]
    config = json.loads(run["config_json"])
    assert config["lstm"]["epochs"] == 40 and config["repeats"] == 2 and config["film_ids"] == list(matrix.index)
    assert filmkb.stale_warning(run.to_dict(), matrix) is None


def test_saved_members_load_and_predict_like_the_trained_ensemble(trained):
    import keras

    path, res = trained
    X = res.model.X_train_
    lstm = res.model.lstm.predict_members(X).mean
    member = keras.saving.load_model(res.directory / "lstm" / "member_001.keras", safe_mode=True)
    alone = np.asarray(member.predict(X.astype("float32"), verbose=0))[:, 0]
    np.testing.assert_allclose(alone, lstm[1], atol=1e-4)
    loaded, _ = paper_run.load(res.directory)
    again = loaded.parts(X)
    first = res.model.parts(X)
    np.testing.assert_array_equal(again["mean"], first["mean"])  # read back as data: bit for bit
    np.testing.assert_array_equal(again["std"], first["std"])
    assert np.all(first["std"] > 0)


def test_predict_conditions_and_films_stores_each_prediction_with_the_run(trained, tmp_path):
    path, res = _copy(trained, tmp_path)
    out = filmkb.predict([{"substrate": "MgO", "deposition_temp_c": 700,
                       "thickness_nm": 300, "method": "PLD"}], db=path, films=[3], model="paper")
    f = out.frame
    assert out.run_id == res.run_id and out.warnings == [] and out.stored == 2
    assert np.allclose(f["log10_sigma_mean"], -f["neg_log10_sigma_mean"])
    assert np.all((f["sigma_low_s_cm"] < f["sigma_s_cm"]) & (f["sigma_s_cm"] < f["sigma_high_s_cm"]))
    np.testing.assert_allclose(np.log10(f["sigma_high_s_cm"] / f["sigma_s_cm"]), 1.959964 * f["log10_sigma_std"])
    assert list(f["in_training"]) == [False, True]
    with kb.open(path) as k:
        rows = k.sql("SELECT * FROM predictions WHERE fold = 'predict' ORDER BY id")
    assert list(rows["run_id"]) == [res.run_id] * 2
    assert rows["film_id"].isna().tolist() == [True, False] and rows["film_id"].iloc[1] == 3
    assert json.loads(rows["conditions_json"].iloc[0])["substrate"] == "MgO"


def test_conditions_outside_the_training_range_are_flagged(trained, tmp_path):
    path, _ = _copy(trained, tmp_path)
    out = filmkb.predict([{"substrate": "MgO", "deposition_temp_c": 700, "thickness_nm": 300},
                      {"substrate": "MgO", "deposition_temp_c": 1500, "thickness_nm": 300}], db=path, store=False,
                     model="paper")
    assert out.frame["extrapolation"].iloc[0] == ""
    assert "inv_t_dep" in out.frame["extrapolation"].iloc[1]
    assert out.stored == 0


def test_predict_warns_that_the_model_is_stale_after_an_ingest(trained, tmp_path):
    path, res = _copy(trained, tmp_path)
    result = CliRunner().invoke(main, ["--db", path, "ingest", str(TEMPLATE)])
    assert result.exit_code == 0, result.output
    out = filmkb.predict(db=path, films="all", store=False, model="paper")
    assert out.stale and "filmkb train" in out.warnings[0] and "2 film(s) added" in out.warnings[0]
    cli = CliRunner().invoke(main, ["--db", path, "predict", "--film", "1", "--no-store", "--model", "paper"])
    assert cli.exit_code == 0 and "is stale" in cli.output and "retrain with `filmkb train`" in cli.output


def test_explain_is_additive_stored_with_its_run_and_plotted(trained, tmp_path):
    path, res = _copy(trained, tmp_path)
    ex = filmkb.explain(path, out_dir=tmp_path / "fig", model="paper")
    gap = ex.values.sum(axis=1) + ex.base_value - ex.predictions
    assert float(gap.abs().max()) < 1e-8
    direct = res.model.predict_mean(ex.features.to_numpy())
    np.testing.assert_allclose(ex.predictions.to_numpy(), direct, atol=1e-9)
    filmkb.explain(path, run_id=res.run_id)  # a second explain of the same run replaces its values
    with kb.open(path) as k:
        rows = k.sql("SELECT * FROM shap_values")
    assert len(rows) == 26 * 7 and set(rows["run_id"]) == {res.run_id}
    assert set(rows["descriptor"]) == set(kb.DESCRIPTORS)
    for png in ex.figures:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_cli_predict_options_and_bad_csv(trained, tmp_path):
    path, res = _copy(trained, tmp_path)
    ok = CliRunner().invoke(main, ["--db", path, "predict", "--composition", "Li7La3Zr2O12", "--method", "PLD",
                                   "--substrate", "MgO", "--orientation", "100", "--temp-c", "700 °C",
                                   "--thickness-nm", "0.3 um", "--format", "json", "--model", "paper"])
    assert ok.exit_code == 0, ok.output
    row = json.loads(ok.output)[0]
    assert row["thickness_nm"] == pytest.approx(300) and row["sigma_low_s_cm"] < row["sigma_s_cm"]
    bad = tmp_path / "bad.csv"
    bad.write_text("composition,substrate,deposition_temp_c,thickness_nm\nLLZO,MgO,700,300\nLLZO,Unobtainium,700,300\n")
    with kb.open(path) as k:
        before = k.sql("SELECT count(*) AS n FROM predictions")["n"].iloc[0]
    fail = CliRunner().invoke(main, ["--db", path, "predict", "--csv", str(bad)])
    assert fail.exit_code == 1 and f"{bad}:3: substrate: 'Unobtainium'" in fail.output
    with kb.open(path) as k:
        assert k.sql("SELECT count(*) AS n FROM predictions")["n"].iloc[0] == before
    missing = CliRunner().invoke(main, ["--db", path, "predict", "--substrate", "MgO"])
    assert missing.exit_code == 1 and "--temp-c" in missing.output


def test_predict_without_a_trained_model_says_what_to_do(db_path):
    result = CliRunner().invoke(main, ["--db", db_path, "predict", "--film", "1"])
    assert result.exit_code == 1 and "run `filmkb train` first" in result.output


def test_reproduce_writes_the_report_with_its_figures(built_db, tmp_path):
    path = str(tmp_path / "filmkb.duckdb")
    shutil.copy2(built_db, path)
    out = tmp_path / "report"
    from filmkb.kb import db as kb_db
    from filmkb.kb import writer

    opened, copied = len(kb_db.OPENED), len(writer.COPIES)
    result = CliRunner().invoke(main, ["--db", path, "reproduce", "--out", str(out), "--repeats", "1", "--epochs", "20",
                                       "--candidates", "small", "--jobs", "1", "--silent"])
    assert result.exit_code == 0, result.output
    # what the file is (kb.not_a_knowledge_base) + its state + one write session
    assert len(kb_db.OPENED) - opened <= 3 and len(writer.COPIES) - copied == 1
    report = (out / "report.md").read_text()
    summary = json.loads((out / "summary.json").read_text())
    for run in (summary["evaluate_run"], summary["train_run"], summary["recommended_run"],
                summary["evaluate_runs"]["reference"]):
        assert run in report
    for section in ("## 1. Data", "## 2. Trustworthy predictions", "## 3. Leave-one-out metrics", "Leave one paper out",
                    "Figure 6", "Figure 7", "Figure 5", "paper R²", "## 6. What more data would buy", "leaky pick"):
        assert section in report
    assert set(summary["targets"]) == {"film", "reference"} and "rmse_at_most_mean" in summary["targets"]["reference"]
    assert summary["learning_curve"] and {"film", "reference"} == set(summary["leaky"])
    figures = sorted((out / "figures").glob("*.png"))
    assert {p.name for p in figures} == {"figure5.png", "figure6_parity_all.png", "figure6_parity_subset.png",
                                         "figure6_uncertainty.png", "shap_beeswarm.png", "shap_bar.png",
                                         "calibration.png", "learning_curve.png"}
    import matplotlib.image

    for png in figures:
        assert f"figures/{png.name}" in report
        image = matplotlib.image.imread(png)
        assert image.shape[0] > 200 and image.shape[1] > 200 and float(image[..., :3].std()) > 0.01
    with kb.open(path) as k:
        kinds = k.sql("SELECT kind, count(*) AS n FROM model_runs GROUP BY kind ORDER BY kind")
        shap_runs = k.sql("SELECT DISTINCT run_id FROM shap_values")["run_id"].tolist()
    assert kinds.to_dict("list") == {"kind": ["evaluate", "train"], "n": [2, 2]}
    assert shap_runs == [summary["train_run"]]
    # its own stored predictions (a ridge baseline misses a new paper by ~40 decades) never fail validation,
    # which would make the next reproduce refuse to run
    assert CliRunner().invoke(main, ["--db", path, "validate"]).exit_code == 0


def test_full_keeps_the_papers_protocol_on_films_and_ten_seeds_leaving_papers_out():
    from filmkb.jobs.main_job import _models, _seeds

    assert [_seeds(f, 100, True) for f in ("film", "reference")] == [100, 10]
    assert [_seeds(f, 100, False) for f in ("film", "reference")] == [100, 100]  # --repeats 100 without --full
    assert [_seeds(f, 4, True) for f in ("film", "reference")] == [4, 4]
    assert "lstm" in _models("reference", True) and "lstm" not in _models("reference", False)
