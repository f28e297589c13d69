"""The default model is the recommended one, after `reproduce` as after `train`: predict, explain and
suggest use the latest recommended run even when the paper's ensemble was trained after it (as the
main job does), the paper's ensemble only when asked for (--model paper or --run), and every output
names the model and run that answered. Real training, kept short: the small candidate set, one LSTM
+ PBP member of 5 LSTM epochs."""

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

import filmkb
from filmkb import kb
from filmkb.cli import main
from filmkb.ml.lstm import PAPER

CONDITION = ["--substrate", "MgO", "--temp-c", "700", "--thickness-nm", "300"]


@pytest.fixture(scope="module")
def both(recommended_db, tmp_path_factory):
    """A database with a recommended run (a copy of the test run's shared one: conftest.recommended_db, the
    small candidates), then a paper-ensemble run trained after it (the main job's order)."""
    path = str(tmp_path_factory.mktemp("both") / "filmkb.duckdb")
    shutil.copy2(recommended_db, path)
    with kb.open(path) as k:
        recommended = k.model_run(None, "train")
    assert json.loads(recommended["config_json"])["model"] == "recommended"
    paper = filmkb.train(path, model="paper", repeats=1, lstm=PAPER.replace(epochs=5), pbp_epochs=5)
    with kb.open(path) as k:
        assert k.model_run(None, "train")["id"] == paper.run_id  # the latest run is the paper's ensemble
    return path, recommended["id"], paper.run_id


@pytest.fixture
def db(both, tmp_path):
    path = str(tmp_path / "filmkb.duckdb")
    shutil.copy2(both[0], path)
    return path, both[1], both[2]


def cli(path, *args):
    return CliRunner().invoke(main, ["--db", path, *args])


def test_predict_uses_the_recommended_model_and_names_it(db):
    path, rec, paper = db
    out = filmkb.predict(cells=dict(zip(("substrate", "deposition_temp_c", "thickness_nm"), ("MgO", "700", "300"))),
                         db=path, store=False)
    assert out.run_id == rec and out.model == "recommended"
    rows = json.loads(cli(path, "predict", *CONDITION, "--no-store", "--format", "json").output)
    assert [(r["model"], r["run_id"]) for r in rows] == [("recommended", rec)]
    csv = cli(path, "predict", *CONDITION, "--no-store", "--format", "csv").output.splitlines()
    header = csv[0].split(",")
    assert csv[1].split(",")[header.index("run_id")] == rec
    assert csv[1].split(",")[header.index("model")] == "recommended"
    table = cli(path, "predict", *CONDITION)
    assert table.exit_code == 0, table.output
    assert f"the recommended model, run {rec}" in table.output.replace("\n", " ")
    assert f"model: the recommended model, run {rec}; 1 predictions stored" in table.output
    with kb.open(path) as k:
        stored = k.sql("SELECT run_id, model FROM predictions WHERE fold = 'predict'")
    assert list(stored.itertuples(index=False, name=None)) == [(rec, "recommended")]


def test_the_paper_ensemble_answers_when_asked_for(db):
    path, rec, paper = db
    for how in (["--model", "paper"], ["--run", paper]):
        res = cli(path, "predict", *CONDITION, "--no-store", "--format", "json", *how)
        assert res.exit_code == 0, res.output
        row = json.loads(res.output)[0]
        assert (row["model"], row["run_id"]) == ("ensemble", paper)
    table = cli(path, "predict", *CONDITION, "--no-store", "--model", "paper")
    assert f"model: the paper's LSTM + PBP ensemble, run {paper}; nothing stored" in table.output
    assert json.loads(cli(path, "predict", *CONDITION, "--no-store", "--format", "json", "--run", rec,
                          "--model", "recommended").output)[0]["run_id"] == rec
    mismatch = cli(path, "predict", *CONDITION, "--run", rec, "--model", "paper")
    assert mismatch.exit_code == 1 and f"run '{rec}' is not a paper-model run" in mismatch.output


def test_explain_explains_the_recommended_model_unless_asked_for_the_paper_ensemble(db):
    path, rec, paper = db
    res = cli(path, "explain", "--format", "json", "--out", "figures")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert {(r["model"], r["run_id"]) for r in rows} == {("recommended", rec)}
    ex = filmkb.explain(path, store=False)
    assert ex.run_id == rec and ex.model == "recommended"
    gap = ex.values.sum(axis=1) + ex.base_value - ex.predictions
    assert float(gap.abs().max()) < 1e-8
    paper_ex = filmkb.explain(path, store=False, model="paper")
    assert paper_ex.run_id == paper and paper_ex.model == "paper" and paper_ex.values.abs().to_numpy().max() > 0
    table = cli(path, "explain", "--model", "paper", "--out", "figures")
    assert table.exit_code == 0, table.output
    assert f"model: the paper's LSTM + PBP ensemble, run {paper}; 182 SHAP values stored" in table.output
    with kb.open(path) as k:
        assert set(k.sql("SELECT DISTINCT run_id FROM shap_values")["run_id"]) == {rec, paper}


def test_explain_of_a_recommended_model_that_uses_no_descriptor_says_so(db):
    path, rec, _ = db
    from filmkb.jobs.runs import load_run

    with kb.open(path) as k:
        _, model, _ = load_run(k)
    ex = filmkb.explain(path, store=False)
    if model.chosen_.descriptors:
        assert ex.notes == [] and ex.values.abs().to_numpy().max() > 0
    else:  # the mean with paper offsets: every value is exactly 0, and the output says why
        assert ex.notes and "every Shapley value is 0" in ex.notes[0] and (ex.values == 0).all().all()
        res = cli(path, "explain", "--out", "figures")
        assert res.exit_code == 0 and "--model paper" in res.output and "figures:" not in res.output


def test_suggest_uses_the_recommended_model_unless_asked_for_the_paper_ensemble(db):
    path, rec, paper = db
    grid = ["--substrate", "MgO", "--temp-c", "600:700:100", "--thickness-nm", "300", "--top", "1", "--no-store"]
    res = filmkb.suggest(path, {"substrate": ["MgO"], "temp_c": "600", "thickness_nm": "300"}, top=1, store=False)
    assert res.model_run_id == rec and res.model == "recommended"
    doc = json.loads(cli(path, "suggest", *grid, "--format", "json").output)
    assert (doc["model"], doc["model_run"]) == ("recommended", rec)
    for how in (["--model", "paper"], ["--run", paper]):
        out = cli(path, "suggest", *grid, "--format", "json", *how)
        assert out.exit_code == 0, out.output
        doc = json.loads(out.output)
        assert (doc["model"], doc["model_run"]) == ("ensemble", paper)
    table = cli(path, "suggest", *grid, "--model", "paper")
    assert f"nothing stored (model: the paper's LSTM + PBP ensemble, run {paper})" in table.output
    csv = cli(path, "suggest", *grid, "--format", "csv").output.splitlines()
    header = csv[0].split(",")
    assert csv[1].split(",")[header.index("model_run")] == rec


def test_only_a_paper_run_means_no_default_model_and_the_error_says_what_to_do(built_db, tmp_path):
    path = str(tmp_path / "filmkb.duckdb")
    shutil.copy2(built_db, path)
    with kb.open(path) as k:
        with k.transaction():
            k.store_run("train-paper-only", "train", {"model": "paper"}, "hash", 26, {}, models_dir="nowhere")
    res = cli(path, "predict", *CONDITION)
    assert res.exit_code == 1
    assert "no trained recommended model" in res.output and "train-paper-only" in res.output
    assert "--model paper" in res.output and "filmkb train" in res.output
    with kb.open(path) as k:
        assert k.sql("SELECT count(*) AS n FROM predictions")["n"].iloc[0] == 0


def test_explain_bounds_a_large_knowledge_base_and_says_which_ran(db):
    """Above max_films a sample proportional per paper is explained and above max_background rows the
    background is summarised (tiny thresholds here; the defaults leave the curated 26 films whole)."""
    path, _, paper = db
    whole = filmkb.explain(path, store=False, model="paper")
    assert len(whole.values) == 26 and whole.notes == []
    assert whole.bounds["explained"] == 26 and whole.bounds["background"] == 26
    ex = filmkb.explain(path, model="paper", max_films=10, max_background=12, background_summary=5)
    assert ex.bounds == {**ex.bounds, "films": 26, "explained": 10, "background": 5}
    assert len(ex.values) == 10 and set(ex.values.index) <= set(whole.values.index)
    assert any("10 of 26 films" in n and "5 k-means representatives" in n for n in ex.notes)
    gap = ex.values.sum(axis=1) + ex.base_value - ex.predictions
    assert float(gap.abs().max()) < 1e-8
    np.testing.assert_allclose(ex.predictions, whole.predictions.loc[ex.values.index], atol=1e-9)
    with kb.open(path) as k:
        assert len(k.sql(f"SELECT * FROM shap_values WHERE run_id = '{paper}'")) == 10 * 7
