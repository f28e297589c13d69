"""The model-family registry (ml/registry.py, ml/families/): the candidate lists it builds are the ones the
golden numbers were made with, every family follows the contract it declares, and a family that uses
groups gets each film's paper: the training rows' at fit, the test rows' at prediction, nothing else (inside
the recommended procedure none at prediction: it adds known papers' offsets itself, once)."""

import numpy as np
import pandas as pd
import pytest

from filmkb.errors import FilmkbError
from filmkb.ml import registry, select
from filmkb.ml.contract import Members, Model
from filmkb.ml.folds import Layout
from filmkb.ml.recommended import Recommended


def test_the_candidate_lists_are_the_ones_the_golden_numbers_were_made_with():
    sets = ("paper7", "extended")
    default = (["mean", "ridge:paper7", "ridge:extended", "multilevel:extended"]
               + [f"{f}:{s}" for f in ("gp", "et") for s in sets])
    assert [c.name for c in select.candidates("default")] == default
    assert [c.name for c in select.candidates("full")] == default + [f"{f}:{s}" for f in ("hgb", "pbp", "lstm",
                                                                                         "ensemble") for s in sets]
    assert [c.name for c in select.candidates("small")] == ["mean", "ridge:paper7", "ridge:extended"]
    assert select.Candidate("ensemble", "paper7").parts == (select.Candidate("lstm", "paper7"),
                                                            select.Candidate("pbp", "paper7"))


def test_each_family_builds_what_it_declares():
    for name, fam in registry.families().items():
        model = fam.make(3, 2)
        assert model.name == registry.evaluated(name, 3).name == name  # its evaluation rows and cache key
        assert bool(model.stochastic) == fam.stochastic, name
        assert bool(model.uses_groups) == fam.uses_groups, name
        assert getattr(model, "random_state", 3) == 3, name
        assert all(registry.family(p) for p in fam.parts)
    assert registry.family("gp").make(0, 1).max_iter == select.CANDIDATE_GP_ITERATIONS
    assert registry.family("et").make(0, 1).n_estimators == select.CANDIDATE_TREES
    assert registry.family("lstm").make(0, 2).config == select.CANDIDATE_LSTM
    # a candidate is its family's model, in multiple imputation unless the family takes gaps itself
    assert type(select.Candidate("gp", "paper7").model(0, 1)).__name__ == "Imputed"
    assert select.Candidate("gp", "paper7").model(0, 1).model.max_iter == select.CANDIDATE_GP_ITERATIONS
    assert type(select.Candidate("hgb", "paper7").model(0, 1)).__name__ == "HGBModel"
    assert type(select.Candidate("mean", "").model(0, 1)).__name__ == "MeanModel"


def test_an_unknown_family_is_one_line_naming_the_known_ones():
    with pytest.raises(ValueError, match="known: mean, ridge"):
        registry.family("nope")
    with pytest.raises(FilmkbError, match="unknown candidate family 'nope'"):
        select.candidates("ridge:paper7,nope:paper7")


SEEN = []  # (what, rows, groups) of every fit and prediction of the test family


class PaperMeans(Model):
    """A tiny family that uses groups (not registered): the training mean of the query's paper, or of all
    films for a paper it has not seen. Column 0 of X is the row number, so the calls can be checked."""

    name = "paper_means"
    uses_groups = True

    def __init__(self, random_state: int = 0):
        self.random_state = random_state

    def fit(self, X, y, seeds=None, groups=None):
        SEEN.append(("fit", np.asarray(X)[:, 0].astype(int), np.asarray(groups)))
        self.mean_ = float(np.mean(y))
        self.by_paper_ = {g: float(np.mean(np.asarray(y)[groups == g])) for g in np.unique(groups)}
        return self

    def predict_members(self, X, groups=None):
        SEEN.append(("predict", np.asarray(X)[:, 0].astype(int), None if groups is None else np.asarray(groups)))
        mean = np.array([self.by_paper_.get(g, self.mean_) for g in groups] if groups is not None
                        else [self.mean_] * len(X))
        return Members(mean[None, :], np.ones((1, len(mean))))


@pytest.fixture(scope="module")
def films():
    """12 films of 4 papers: X column 0 the row number, y = paper + film / 10."""
    papers = np.repeat([11, 12, 13, 14], 3)
    y = papers + np.tile([0.1, 0.2, 0.3], 4)
    X = np.column_stack([np.arange(12.0), np.linspace(0, 1, 12)])
    matrix = pd.DataFrame({"reference_id": papers}, index=pd.Index(np.arange(100, 112), name="film_id"))
    return X, y, papers, matrix


def _calls_saw_their_own_rows_only(papers, predicted_as_new: bool = False):
    fits = [c for c in SEEN if c[0] == "fit"]
    assert fits and all(np.array_equal(g, papers[rows]) for kind, rows, g in SEEN if kind == "fit")
    predicts = [g for kind, _, g in SEEN if kind == "predict"]
    assert predicts and all(g is None for g in predicts) if predicted_as_new else all(
        np.array_equal(g, papers[rows]) for kind, rows, g in SEEN if kind == "predict")
    return fits


@pytest.mark.parametrize("kind", ["film", "reference"])
def test_cross_predict_gives_a_groups_family_the_papers_of_its_rows(films, kind):
    X, y, papers, matrix = films
    SEEN.clear()
    layout = Layout.of(matrix, kind, 1, 0)
    held = PaperMeans().cross_predict(X, y, layout)
    fits = _calls_saw_their_own_rows_only(papers)
    assert len(fits) == len(layout.folds)
    for (_, rows, _), test in zip(fits, layout.test):  # a fit never sees its fold's films
        assert not set(rows) & set(np.flatnonzero(test))
    i = 4  # film 4 of paper 12: its paper's other films' mean (film folds), the others' mean (a new paper)
    expected = (12.1 + 12.3) / 2 if kind == "film" else np.mean(np.delete(y, [3, 4, 5]))
    assert held.mean[0, i] == pytest.approx(expected)


def test_the_recommended_procedure_gives_a_groups_candidate_the_papers_of_its_rows(films, monkeypatch):
    X, y, papers, _ = films
    monkeypatch.setitem(registry.families(), "paper_means",
                        registry.Family("paper_means", lambda seed, repeats: PaperMeans(seed), order=5,
                                        summary="test", uses_groups=True))
    SEEN.clear()
    rec = Recommended("paper_means:paper7", {"paper7": [0, 1]}, [1], inner_folds=3, alpha=None)
    rec.fit(X, y, groups=papers)
    fits = _calls_saw_their_own_rows_only(papers, predicted_as_new=True)
    assert len(fits) == 3 and all(len(set(papers[rows])) < 4 for _, rows, _ in fits)  # inner folds of papers
    SEEN.clear()
    layout = Layout.of(films[3], "reference", 1, 0)
    nested = rec.nested(X, y, papers, ~layout.test, layout.test, every_candidate=True)  # outer folds too
    _calls_saw_their_own_rows_only(papers, predicted_as_new=True)
    assert nested.raw["paper_means:paper7"][0][1][3] == pytest.approx(np.mean(np.delete(y, [3, 4, 5])))
    rec.chosen_ = select.Candidate("paper_means", "paper7")  # as if chosen (on new papers it is the mean)
    rec.f_ = PaperMeans().fit(X, y, groups=papers)
    SEEN.clear()
    known, new = rec.predict_parts(X[:2], groups=papers[:2]), rec.predict_parts(X[:2])
    assert [c[2] for c in SEEN] == [None, None]  # the candidate predicts a new paper's film; the offsets come after
    assert known["f"] == pytest.approx([np.mean(y)] * 2) and new["f"] == pytest.approx([np.mean(y)] * 2)
