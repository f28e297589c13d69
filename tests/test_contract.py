"""Every model family behind one contract, on a small real matrix: fit on X, y and seeds; predict a
mean and a variance; learned state ends in `_`; sklearn's clone works; cross_predict matches
fitting each fold by hand; the layers do not import upwards."""

import ast
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from filmkb import kb
from filmkb.ml.baselines import BASELINES, baseline
from filmkb.ml.ensemble import PaperEnsemble
from filmkb.ml.folds import Layout
from filmkb.ml.lstm import PAPER
from filmkb.ml.neural import LSTMModel, PBPModel

QUICK = PAPER.replace(epochs=5)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small(built_db):
    with kb.open(built_db) as db:
        m = db.descriptor_matrix()
    m = m[m["reference_id"].isin(m["reference_id"].unique()[:5])]  # 5 papers
    return m, m[list(kb.DESCRIPTORS)].to_numpy(), m[kb.TARGET].to_numpy()


def families():
    lstm, pbp = LSTMModel(QUICK, repeats=2, random_state=1), PBPModel(epochs=5, repeats=2, random_state=1)
    return [baseline(b, seed=1) for b in BASELINES] + [lstm, pbp, PaperEnsemble(clone(lstm), clone(pbp))]


@pytest.mark.parametrize("model", families(), ids=lambda m: type(m).__name__ + ":" + m.name)
def test_every_family_fits_and_predicts_a_mean_and_a_variance(small, model):
    _, X, y = small
    unfitted = clone(model)
    assert not [k for k in vars(unfitted) if k.endswith("_") and not k.startswith("_")]  # no learned state yet
    fitted = unfitted.fit(X[:-2], y[:-2], seeds=[7, 8]) if model.stochastic else unfitted.fit(X[:-2], y[:-2])
    assert fitted is unfitted and [k for k in vars(fitted) if k.endswith("_")]
    mean, var = fitted.predict_dist(X[-2:])
    assert mean.shape == var.shape == (2,) and np.all(np.isfinite(mean)) and np.all(var > 0)
    m2, sd = fitted.predict(X[-2:], return_std=True)
    np.testing.assert_allclose(m2, mean)
    np.testing.assert_allclose(sd**2, var, rtol=1e-12)
    assert set(clone(model).get_params()) == set(model.get_params())


@pytest.mark.parametrize("name", ["ridge", "gp"])
def test_cross_predict_is_one_fit_per_fold(small, name):
    """The evaluation's fold loop gives what fitting each fold's training films by hand gives."""
    m, X, y = small
    layout = Layout.of(m, "reference", repeats=1, seed=3)
    held = baseline(name, seed=3).cross_predict(X, y, layout)
    for f, test in enumerate(layout.test):
        by_hand = baseline(name, seed=3).fit(X[~test], y[~test]).predict_dist(X[test])
        np.testing.assert_allclose(held.mean[0, test], by_hand[0])
        np.testing.assert_allclose(held.var[0, test], by_hand[1])


def test_stochastic_cross_predict_trains_every_copy_without_its_fold(small):
    m, X, y = small
    layout = Layout.of(m, "film", repeats=2, seed=0)
    members = PBPModel(epochs=5).cross_predict(X, y, layout)
    assert members.mean.shape == members.var.shape == (2, len(y))
    changed = y.copy()
    changed[0] += 30
    again = PBPModel(epochs=5).cross_predict(X, changed, layout)
    np.testing.assert_allclose(again.mean[:, 0], members.mean[:, 0], atol=1e-9)  # film 0's own target is unseen


def _imports(path: Path) -> set:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            names.add((node.module or "").split(".")[0] if node.level == 2 else "")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("filmkb."):
            names.add(node.module.split(".")[1])
    return names - {""}


@pytest.mark.parametrize("layer, forbidden", [("ml", {"kb", "ingest", "jobs", "cli"}), ("kb", {"ingest", "ml", "jobs", "cli"}),
                                              ("ingest", {"ml", "jobs", "cli"}), ("schema", {"kb", "ingest", "ml", "jobs"}),
                                              ("jobs", {"cli"})])
def test_no_import_runs_back_up_the_floors(layer, forbidden):
    for path in (ROOT / layer).glob("*.py"):
        assert not _imports(path) & forbidden, f"{path.name} imports {_imports(path) & forbidden}"


def test_ml_suggest_is_the_suggest_job_attached_from_the_top_floor():
    import filmkb
    import filmkb.ml

    assert filmkb.ml.suggest is filmkb._ml_suggest
    assert "jobs" not in _imports(ROOT / "ml" / "__init__.py")


def test_parameters_nest_set_show_and_score_as_in_scikit_learn(small):
    from sklearn.base import is_regressor
    from sklearn.metrics import r2_score

    from filmkb.ml.contract import Model

    lstm, pbp = LSTMModel(QUICK, repeats=2, random_state=1), PBPModel(epochs=5, repeats=2, random_state=1)
    ensemble = PaperEnsemble(lstm, pbp)
    deep = ensemble.get_params(deep=True)
    assert deep["lstm"] is lstm and deep["lstm__repeats"] == 2 and deep["pbp__epochs"] == 5
    assert set(ensemble.get_params(deep=False)) == {"lstm", "pbp"}
    assert ensemble.set_params(lstm__repeats=3, pbp__epochs=7, pbp__hidden=(4,)) is ensemble
    assert (lstm.repeats, pbp.epochs, pbp.hidden) == (3, 7, (4,))
    assert pbp.set_params(repeats=4).repeats == 4
    with pytest.raises(ValueError, match="invalid parameter 'nope' for estimator PaperEnsemble; valid parameters are: "
                                         r"\['lstm', 'pbp'\]"):
        ensemble.set_params(nope=1)
    assert repr(pbp) == "PBPModel(chunk=None, epochs=7, hidden=(4,), random_state=1, repeats=4)"
    assert is_regressor(ensemble) and is_regressor(baseline("ridge"))

    class NoParameters(Model):
        pass

    class TakesArgs(Model):
        def __init__(self, *args):
            self.args = args

    assert NoParameters().get_params() == {}
    with pytest.raises(RuntimeError, match=r"TakesArgs.__init__ takes \*args"):
        TakesArgs().get_params()
    _, X, y = small
    ridge = baseline("ridge", seed=1).fit(X, y)
    assert ridge.score(X, y) == pytest.approx(r2_score(y, ridge.predict(X)), rel=1e-12) and ridge.score(X, y) < 1
