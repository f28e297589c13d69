"""The linear multilevel model (ml/multilevel.py) on simulated grouped data: it recovers the fixed effects
and the two variance components it was generated with, a known paper's interval is narrower than a new
one's, groups None works, held-out rows never reach its fit, and it follows the model contract."""

import numpy as np
import pytest
from sklearn.base import clone

from filmkb.ml.multilevel import MultilevelModel
from filmkb.ml.registry import family

BETA = np.array([0.8, -0.5, 0.0])  # two continuous columns with an effect, one without
PHASE = 0.7  # effect of a 0/1 flag column
TAU2, SIG2 = 0.5, 0.05


def simulate(n_papers: int, films: int, seed: int):
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_papers) * 10 + 3, films)  # paper ids that are not row positions
    n = len(groups)
    Xc = rng.normal(size=(n, 3))
    flag = (rng.random(n) < 0.4).astype(float)
    offsets = rng.normal(0.0, np.sqrt(TAU2), n_papers)
    y = 6.0 + Xc @ BETA + PHASE * flag + np.repeat(offsets, films) + rng.normal(0.0, np.sqrt(SIG2), n)
    return np.column_stack([Xc, flag]), y, groups


@pytest.fixture(scope="module")
def data():
    return simulate(80, 5, seed=1)


@pytest.fixture(scope="module")
def fitted(data):
    X, y, g = data
    return MultilevelModel(random_state=0).fit(X, y, groups=g)


def test_recovers_fixed_effects_and_variance_components(fitted):
    # coefficients of the standardised columns back on the original scale
    coef = fitted.coef_[1:1 + fitted.p_] / fitted.x_std_[fitted.keep_]
    assert np.allclose(coef[:3], BETA, atol=0.05), coef
    assert abs(coef[3] - PHASE) < 0.08, coef
    assert 0.6 * TAU2 < fitted.tau2_ < 1.5 * TAU2, fitted.tau2_
    assert 0.7 * SIG2 < fitted.sig2_ < 1.4 * SIG2, fitted.sig2_


def test_known_paper_interval_is_narrower_than_a_new_papers(data, fitted):
    X, _, g = data
    Xq = X[:5]
    known = fitted.predict_parts(Xq, g[:5])
    new = fitted.predict_parts(Xq, np.full(5, -1))
    assert known["known_paper"].all() and not new["known_paper"].any()
    assert np.all(known["var"] < new["var"])
    assert np.all(new["var"] - known["var"] > 0.8 * fitted.tau2_ * fitted.t_scale_**2 - 1e-9)
    assert np.allclose(new["offset"], 0.0)
    # the known paper's offset moves its films toward their measured level
    assert not np.allclose(known["mean"], new["mean"])


def test_known_paper_offsets_predict_held_out_films_better(data):
    X, y, g = data
    test = np.arange(len(y)) % 5 == 0  # one film of every paper held out; its siblings stay in training
    m = MultilevelModel().fit(X[~test], y[~test], groups=g[~test])
    err_known = np.mean((m.predict(X[test]) - y[test]) ** 2)  # groups None: as new papers
    err_offset = np.mean((m.predict_dist(X[test], g[test])[0] - y[test]) ** 2)
    assert err_offset < 0.3 * err_known


def test_groups_none_fits_and_predicts_every_row_as_a_new_paper(data):
    X, y, _ = data
    m = MultilevelModel().fit(X[:60], y[:60])
    mean, var = m.predict_dist(X[60:80])
    members = m.predict_members(X[60:80])
    assert members.mean.shape == members.var.shape == (1, 20)
    assert np.all(np.isfinite(mean)) and np.all(var > 0)
    assert not m.predict_parts(X[60:80])["known_paper"].any()
    assert np.sqrt(np.mean((mean - y[60:80]) ** 2)) < 1.2  # the descriptors still carry their signal


def test_fit_never_sees_test_rows(data):
    X, y, g = data
    train = np.arange(len(y)) < 300
    a = MultilevelModel().fit(X[train], y[train], groups=g[train]).predict_dist(X[~train], g[~train])
    y2 = y.copy()
    y2[~train] += 100.0  # whatever the held-out targets are
    b = MultilevelModel().fit(X[train], y2[train], groups=g[train]).predict_dist(X[~train], g[~train])
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    # through the contract's fold machinery too: each copy predicts its test rows from its training rows only
    mask = train[None, :]
    m = MultilevelModel().fit_copies(X, y2, mask, np.array([0]), (~train)[None, :])
    assert np.allclose(m.mean[0, ~train], MultilevelModel().fit(X[train], y[train]).predict(X[~train]))


def test_follows_the_contract(data):
    X, y, g = data
    m = MultilevelModel(random_state=4, penalties="one")
    assert m.get_params() == {"columns": None, "penalties": "one", "random_state": 4}
    c = clone(m)
    assert c is not m and c.get_params() == m.get_params()
    assert not [k for k in vars(c) if k.endswith("_")]
    assert c.fit(X, y, seeds=[4], groups=g) is c
    assert c.set_params(penalties=2.0).penalties == 2.0
    mean, std = c.fit(X, y, groups=g).predict(X[:3], return_std=True)
    assert mean.shape == std.shape == (3,)
    again = clone(c).fit(X, y, groups=g).predict(X[:3])
    assert np.array_equal(mean, again)  # deterministic
    assert MultilevelModel(columns=()).fit(X, y, groups=g).p_ == 0  # the mean plus paper offsets
    fam = family("multilevel")
    assert fam.uses_groups and not fam.stochastic and fam.descriptor_sets == ("extended",)
    assert isinstance(fam.make(1, 3), MultilevelModel)


def test_rejects_missing_values(data):
    X, y, g = data
    X = X.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MultilevelModel().fit(X, y, groups=g)


def test_state_round_trip_predicts_the_same_numbers(data, fitted):
    from filmkb.ml.model_state import build, dump

    X, _, g = data
    meta, arrays = dump("multilevel", fitted)
    again = build("multilevel", meta, arrays)
    for groups in (g[:7], None):
        a, b = fitted.predict_dist(X[:7], groups), again.predict_dist(X[:7], groups)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_through_the_contract_with_groups_a_known_paper_gets_its_offset(data):
    X, y, g = data
    test = np.arange(len(y)) % 5 == 0  # one film of every paper held out, its siblings in training
    m = MultilevelModel().fit_copies(X, y, (~test)[None, :], np.array([0]), test[None, :], groups=g)
    direct = MultilevelModel().fit(X[~test], y[~test], groups=g[~test]).predict_dist(X[test], g[test])
    assert np.allclose(m.mean[0, test], direct[0]) and np.allclose(m.var[0, test], direct[1])
    new = MultilevelModel().fit(X[~test], y[~test], groups=g[~test]).predict_dist(X[test])
    assert np.mean((m.mean[0, test] - y[test]) ** 2) < 0.3 * np.mean((new[0] - y[test]) ** 2)


def test_competes_in_the_nested_selection_and_wins_where_papers_and_flags_matter(data):
    from filmkb.ml.recommended import Recommended
    from filmkb.ml.select import Candidate

    X, y, g = data
    rec = Recommended([Candidate("mean", ""), Candidate("multilevel", "extended")], {"extended": [0, 1, 2, 3]},
                      [0, 1, 2], inner_folds=3).fit(X[:200], y[:200], groups=g[:200])
    assert rec.chosen_.name == "multilevel:extended"
    mean = rec.predict(X[200:])  # papers the procedure has not seen
    assert np.sqrt(np.mean((mean - y[200:]) ** 2)) < 0.6 * np.std(y[200:])
