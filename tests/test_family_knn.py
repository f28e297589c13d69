"""The k-nearest-neighbours family (ml/families/knn.py), added as one file: registered, a candidate by
name, evaluated by name, saved and read back to the same predictions; it learns a smooth signal."""

import numpy as np
import pandas as pd
import pytest

from filmkb.ml import model_state, registry, select
from filmkb.ml.artifacts import load_npz, save_npz
from filmkb.ml.evaluate import run_evaluation, work_units
from filmkb.schema.descriptors import PAPER7, TARGET


@pytest.fixture(scope="module")
def matrix():
    """24 films of 8 papers whose target is a smooth function of the first descriptor."""
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (24, len(PAPER7)))
    frame = pd.DataFrame(X, columns=list(PAPER7), index=pd.Index(np.arange(1, 25), name="film_id"))
    frame[TARGET] = 4 + 3 * np.sin(3 * X[:, 0]) + rng.normal(0, 0.05, 24)
    frame["reference_id"], frame["figure6_subset"] = np.repeat(np.arange(8), 3), np.arange(24) % 2 == 0
    return frame


def test_knn_is_registered_but_in_no_candidate_list():
    fam = registry.family("knn")
    assert not fam.stochastic and not fam.uses_groups and fam.candidate_lists == ()
    assert all("knn" not in [c.family for c in v] for v in select.CANDIDATE_SETS.values())
    assert [c.name for c in select.candidates("knn:paper7")] == ["mean", "knn:paper7"]


def test_knn_is_evaluated_by_name_and_beats_the_mean_on_a_smooth_signal(matrix):
    ticks = []
    res = run_evaluation(matrix, models="mean,knn", repeats=1, folds="film", descriptors=PAPER7[:1], progress=ticks.append)
    assert set(res.metrics["all"]) == {"mean", "knn"}
    assert res.metrics["all"]["knn"]["rmse"] < 0.7 * res.metrics["all"]["mean"]["rmse"]
    assert sum(ticks) == work_units(24, 1, "mean,knn") == 2 * 24


def test_a_fitted_knn_reloads_to_the_same_predictions(matrix, tmp_path):
    X, y = matrix[list(PAPER7)].to_numpy(), matrix[TARGET].to_numpy()
    model = select.Candidate("knn", "paper7").model(1, 1).fit(X, y)
    save_npz(tmp_path / "f.npz", *model_state.dump("knn", model))
    back = model_state.build("knn", *load_npz((tmp_path / "f.npz").read_bytes(), "f.npz"))
    Xq = X[:5] + 0.01
    for a, b in zip(model.predict(Xq, return_std=True), back.predict(Xq, return_std=True)):
        np.testing.assert_array_equal(a, b)
