"""Every candidate scored and calibrated beside the recommended model, the neural candidates (PBP, LSTM,
their ensemble), the main job's one LSTM engine call, and `--descriptors` on train and predict."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from filmkb import kb
from filmkb.cli import main
from filmkb.ml import select
from filmkb.ml.evaluate import recommended_model
from filmkb.ml.folds import Layout
from filmkb.ml.lstm import PAPER
from filmkb.ml.members import member_seeds
from filmkb.ml.neural import LSTMBatch, LSTMModel
from filmkb.ml.recommended import calibrated
from filmkb.schema.descriptors import MODEL_COLUMNS, PAPER7

QUICK = PAPER.replace(epochs=20)


@pytest.fixture(scope="module")
def matrix(built_db):
    with kb.open(built_db) as db:
        return db.model_matrix()


def test_calibration_scales_the_sd_by_the_rms_of_inner_z_scores_by_hand():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    oof = np.array([[1.0, 1.0, np.nan, np.nan]])  # inner residuals -1, 0 on the training rows
    oof_var = np.array([[0.25, 0.25, np.nan, np.nan]])  # + floor 0.25 (the median): sd 1/sqrt(2), z = -sqrt(2), 0
    mean, var = np.array([[np.nan, np.nan, 5.0, 6.0]]), np.array([[np.nan, np.nan, 4.0, np.nan]])
    train, test = np.array([[True, True, False, False]]), np.array([[False, False, True, True]])
    m, sd = calibrated(y, oof, oof_var, mean, var, train, test)
    assert m[0, 2:] == pytest.approx([5.0, 6.0])
    # RMS z = 1: sd sqrt(4 + 0.25); a row without a variance gets the residual scale itself (1)
    assert sd[0, 2:] == pytest.approx([np.sqrt(4.25), 1.0])
    # a family whose inner spreads are ~0 does not explode: the floor keeps the scale finite and modest
    _, sd = calibrated(y, oof, np.array([[1e-30, 0.25, np.nan, np.nan]]), mean, np.array([[0, 0, 1e-30, 0]]), train, test)
    assert np.all(sd[0, 2:] < 10)


def test_every_candidate_is_scored_raw_and_calibrated_on_the_outer_folds(matrix):
    X, y = matrix[list(MODEL_COLUMNS)].to_numpy(), matrix[kb.TARGET].to_numpy()
    layout = Layout.of(matrix, "reference", 1, 0)
    model = recommended_model(candidates="small")
    members = model.cross_predict(X, y, layout)
    rows = {r.name: r for r in model.evaluation_rows(members)}
    assert set(rows) == {"recommended", "recommended_one_se", "mean+cal", "ridge:paper7+cal", "ridge:extended+cal"}
    assert set(model.candidate_rmse_) == {"mean", "ridge:paper7", "ridge:extended"}
    # the mean candidate's outer predictions are each fold's training mean
    held = np.array([y[~t].mean() for t in layout.test])[layout.test.argmax(axis=0)]
    assert rows["mean+cal"].mean == pytest.approx(held)
    assert model.candidate_rmse_["mean"] == pytest.approx(np.sqrt(np.mean((held - y) ** 2)))
    assert np.all(rows["ridge:extended+cal"].std > 0)


def test_the_ensemble_candidate_averages_its_lstm_and_pbp_parts(matrix, monkeypatch):
    monkeypatch.setattr(select, "CANDIDATE_LSTM", PAPER.replace(epochs=5))
    X, y = matrix[list(MODEL_COLUMNS)].to_numpy(), matrix[kb.TARGET].to_numpy()
    model = recommended_model(candidates="lstm:paper7,pbp:paper7,ensemble:paper7", repeats=1)
    cands = select.candidates(model.candidates)
    assert [c.name for c in cands] == ["mean", "lstm:paper7", "pbp:paper7", "ensemble:paper7"]
    masks = np.ones((1, len(y)), dtype=bool)
    masks[0, :3] = False
    tests = ~masks
    memo = {}
    ens = model.fit_candidate(3, cands[3], X, y, masks, tests, 0, memo=memo)
    (lm, _), (pm, pv) = memo["lstm:paper7"], memo["pbp:paper7"]
    assert ens[0][0, :3] == pytest.approx((lm[0, :3] + pm[0, :3]) / 2)
    assert ens[1][0, :3] == pytest.approx(pv[0, :3] / 2 + ((lm[0, :3] - pm[0, :3]) / 2) ** 2)
    assert np.all(np.isnan(memo["lstm:paper7"][1]))  # the LSTM's members are points: no variance of its own


def test_one_engine_call_gives_the_same_numbers_as_separate_ones(matrix):
    X, y = matrix[list(PAPER7)].to_numpy(), matrix[kb.TARGET].to_numpy()
    layout = Layout.of(matrix, "film", 1, 0)  # 26 + 2 copies: the programs the next test compiles too
    batch = LSTMBatch(QUICK, X, y, layout, member_seeds(0, 2))
    alone = LSTMModel(QUICK, 1, 0).cross_predict(X, y, layout)
    same = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12)  # noqa: E731  (float32 copies: round-off)
    same(batch.held_out().mean, alone.mean)
    final = LSTMModel(QUICK, 2, 0).fit(X, y)
    same(batch.members().predict_members(X).mean, final.predict_members(X).mean)
    assert batch.serves(QUICK, layout) and not batch.serves(PAPER, layout)


def test_one_batch_trains_several_layouts_in_turn_as_if_alone(matrix):
    X, y = matrix[list(PAPER7)].to_numpy(), matrix[kb.TARGET].to_numpy()
    papers, films = Layout.of(matrix, "reference", 1, 0), Layout.of(matrix, "film", 1, 0)
    batch = LSTMBatch(QUICK, X, y, [papers, films], member_seeds(0, 2))
    assert batch.serves(QUICK, papers) and batch.serves(QUICK, films)
    same = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12)  # noqa: E731  (float32 copies: round-off)
    same(batch.held_out(papers).mean, LSTMModel(QUICK, 1, 0).cross_predict(X, y, papers).mean)
    same(batch.held_out(films).mean, LSTMModel(QUICK, 1, 0).cross_predict(X, y, films).mean)
    same(batch.members().predict_members(X).mean, LSTMModel(QUICK, 2, 0).fit(X, y).predict_members(X).mean)


def test_train_and_predict_on_a_chosen_descriptor_set(db_path):
    run = CliRunner().invoke
    res = run(main, ["--db", db_path, "predict", "--substrate", "MgO", "--temp-c", "700", "--thickness-nm", "300",
                     "--descriptors", "extended", "--no-store"])
    assert res.exit_code == 1 and "filmkb train --descriptors extended" in res.output
    res = run(main, ["--db", db_path, "train", "--descriptors", "extended", "--candidates", "small", "--jobs", "1",
                     "--silent"])
    assert res.exit_code == 0, res.output
    assert "ridge:paper7" not in res.output and "ridge:extended" in res.output
    with kb.open(db_path) as k:
        config = json.loads(k.model_run(kind="train")["config_json"])
    assert config["descriptor_set"] == "extended" and config["candidates"] == "mean,ridge:extended"
    res = run(main, ["--db", db_path, "predict", "--substrate", "MgO", "--temp-c", "700", "--thickness-nm", "300",
                     "--phase", "cubic", "--method", "PLD", "--composition", "Li7La3Zr2O12", "--descriptors",
                     "extended", "--format", "json", "--no-store"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)[0]["model"] == "recommended"
    res = run(main, ["--db", db_path, "predict", "--substrate", "MgO", "--temp-c", "700", "--thickness-nm", "300",
                     "--descriptors", "both", "--no-store"])
    assert res.exit_code == 1 and "--descriptors both" in res.output
