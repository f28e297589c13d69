"""A fitted model of any candidate family as data: its parameters and small values as JSON, its learned
arrays as NumPy arrays (saved with :func:`filmkb.ml.artifacts.save_npz`), and back.

Each family writes exactly what its predictions read (scikit-learn's fitted attributes, the trees'
node tables, PBP posteriors, the LSTM copies' weights), so a reloaded model predicts the same numbers
bit for bit. The family's (dump, build) pair is looked up in the registry of families (each family's `files`,
ml/families/), a fixed table of code: nothing read can choose code to run.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import FilmkbError
from .baselines import ForestModel, GPModel, MeanModel, RidgeModel
from .ensemble import PaperEnsemble
from .lstm import LSTMConfig
from .neural import LSTMModel, PBPModel

__all__ = ["dump", "build"]

_GP_PARAMS = ("k1__k1__constant_value", "k1__k2__length_scale", "k2__noise_level")


def _scalar(a):
    return np.asarray(a)[()]


# ------------------------------------------------------------------ standardised scikit-learn families

def _standardised(m) -> tuple[dict, dict]:
    return {"params": m.get_params(), "seed": int(m.seed_)}, {"x_mean": m.x_mean_, "x_std": m.x_std_}


def _restore_standardised(cls, meta, a):
    m = cls(**meta["params"])
    m.seed_, m.x_mean_, m.x_std_ = int(meta["seed"]), a["x_mean"], a["x_std"]
    return m


def _dump_mean(m):
    return {"params": m.get_params()}, {"mean": m.mean_, "std": m.std_}


def _build_mean(meta, a):
    m = MeanModel(**meta["params"])
    m.mean_, m.std_ = _scalar(a["mean"]), _scalar(a["std"])
    return m


def _dump_ridge(m):
    meta, arrays = _standardised(m)
    r = m.model_
    return ({**meta, "alpha": float(r.alpha_), "n_features": int(r.n_features_in_)},
            {**arrays, "coef": r.coef_, "intercept": r.intercept_, "loo_rmse": m.loo_rmse_})


def _build_ridge(meta, a):
    m = _restore_standardised(RidgeModel, meta, a)
    r = m._regressor()
    r.coef_, r.intercept_, r.alpha_, r.n_features_in_ = a["coef"], _scalar(a["intercept"]), meta["alpha"], meta["n_features"]
    m.model_, m.loo_rmse_ = r, _scalar(a["loo_rmse"])
    return m


def _dump_gp(m):
    meta, arrays = _standardised(m)
    r = m.model_
    kernel = r.kernel_.get_params()
    return ({**meta, "n_features": int(r.n_features_in_)},
            {**arrays, "X_train": r.X_train_, "y_train": r.y_train_, "alpha": r.alpha_, "L": r.L_,
             "y_train_mean": r._y_train_mean, "y_train_std": r._y_train_std,
             "log_marginal_likelihood": r.log_marginal_likelihood_value_,
             **{f"kernel.{k}": kernel[k] for k in _GP_PARAMS}})


def _build_gp(meta, a):
    from sklearn.base import clone

    m = _restore_standardised(GPModel, meta, a)
    r = m._regressor(meta["n_features"])
    r.kernel_ = clone(r.kernel).set_params(**{k: _scalar(a[f"kernel.{k}"]) if a[f"kernel.{k}"].ndim == 0
                                              else a[f"kernel.{k}"] for k in _GP_PARAMS})
    r.X_train_, r.y_train_, r.alpha_, r.L_ = a["X_train"], a["y_train"], a["alpha"], a["L"]
    r._y_train_mean, r._y_train_std = _scalar(a["y_train_mean"]), _scalar(a["y_train_std"])
    r.log_marginal_likelihood_value_, r.n_features_in_ = _scalar(a["log_marginal_likelihood"]), meta["n_features"]
    m.model_ = r
    return m


def _dump_forest(m):
    meta, arrays = _standardised(m)
    trees = []
    for i, est in enumerate(m.model_.estimators_):
        state = est.tree_.__getstate__()
        trees.append({"max_depth": int(state["max_depth"]), "node_count": int(state["node_count"])})
        arrays[f"tree{i}.nodes"], arrays[f"tree{i}.values"] = state["nodes"], state["values"]
    return {**meta, "n_features": int(m.model_.n_features_in_), "trees": trees}, arrays


def _build_forest(meta, a):
    from sklearn.tree import DecisionTreeRegressor
    from sklearn.tree._tree import Tree

    m = _restore_standardised(ForestModel, meta, a)
    r, n = m._regressor(), int(meta["n_features"])
    estimators = []
    for i, t in enumerate(meta["trees"]):
        tree = Tree(n, np.array([1], dtype=np.intp), 1)
        tree.__setstate__({"max_depth": int(t["max_depth"]), "node_count": int(t["node_count"]),
                           "nodes": a[f"tree{i}.nodes"], "values": a[f"tree{i}.values"]})
        est = DecisionTreeRegressor(min_samples_leaf=m.min_samples_leaf)
        est.tree_, est.n_features_in_, est.n_outputs_ = tree, n, 1
        estimators.append(est)
    r.estimators_, r.n_features_in_, r.n_outputs_ = estimators, n, 1
    m.model_ = r
    return m


# ------------------------------------------------------------------ neural families

def _dump_pbp(m):
    mem = m.members_
    arrays = {f"M{i}": v for i, v in enumerate(mem.M)} | {f"V{i}": v for i, v in enumerate(mem.V)}
    arrays |= {f.name: getattr(mem, f.name) for f in dataclasses.fields(mem) if f.name not in ("M", "V")}
    params = {**m.get_params(), "hidden": [int(h) for h in m.hidden]}
    return {"params": params, "layers": len(mem.M)}, {**arrays, "seeds": m.seeds_}


def _build_pbp(meta, a):
    from .pbp import PBPMembers

    m = PBPModel(**{**meta["params"], "hidden": tuple(meta["params"]["hidden"])})
    layers = range(int(meta["layers"]))
    m.members_ = PBPMembers(tuple(a[f"M{i}"] for i in layers), tuple(a[f"V{i}"] for i in layers),
                            **{f.name: a[f.name] for f in dataclasses.fields(PBPMembers) if f.name not in ("M", "V")})
    m.seeds_ = a["seeds"]
    return m


def _dump_lstm(m):
    c = m.copies_
    arrays = {f"tr{i}": np.asarray(w) for i, w in enumerate(c.trainable)}
    arrays |= {f"nt{i}": np.asarray(w) for i, w in enumerate(c.non_trainable)}
    arrays |= {"x_mean": c.x_mean, "x_std": c.x_std, "y_mean": c.y_mean, "y_std": c.y_std, "seeds": m.seeds_}
    return ({"config": m.config.as_dict(), "repeats": int(m.repeats), "random_state": int(m.random_state),
             "n_features": int(m.n_features_in_), "trainable": len(c.trainable), "non_trainable": len(c.non_trainable)},
            arrays)


def _build_lstm(meta, a):
    from .engine import TrainedCopies

    m = LSTMModel(LSTMConfig(**meta["config"]), repeats=int(meta["repeats"]), random_state=int(meta["random_state"]))
    m.copies_ = TrainedCopies([a[f"tr{i}"] for i in range(int(meta["trainable"]))],
                              [a[f"nt{i}"] for i in range(int(meta["non_trainable"]))],
                              a["x_mean"], a["x_std"], a["y_mean"], a["y_std"])
    m.seeds_, m.n_features_in_ = a["seeds"], int(meta["n_features"])
    return m


def _dump_ensemble(m):
    (ml, al), (mp, ap) = _dump_lstm(m.lstm), _dump_pbp(m.pbp)
    arrays = {f"lstm.{k}": v for k, v in al.items()} | {f"pbp.{k}": v for k, v in ap.items()}
    return {"lstm": ml, "pbp": mp}, {**arrays, "X_train": m.X_train_, "y_train": m.y_train_}


def _build_ensemble(meta, a):
    part = {p: {k[len(p) + 1:]: v for k, v in a.items() if k.startswith(p + ".")} for p in ("lstm", "pbp")}
    m = PaperEnsemble(_build_lstm(meta["lstm"], part["lstm"]), _build_pbp(meta["pbp"], part["pbp"]))
    m.X_train_, m.y_train_ = a["X_train"], a["y_train"]
    return m


def _files(family: str):
    """(dump, build) of the registered family `family` (ml/families/), or None: a fixed table of code,
    never chosen by what a file says."""
    from .registry import families

    fam = families().get(family)
    return fam.files() if fam is not None and fam.files is not None else None


def _dump_imputed(family, m):
    """Each fitted copy in its family's own format, and the training rows the imputers are refitted from."""
    parts = [_files(family)[0](copy) for copy in m.models_]
    arrays = {f"copy{i}.{k}": v for i, (_, a) in enumerate(parts) for k, v in a.items()}
    return ({"imputed": {"n_imputations": int(m.n_imputations), "random_state": int(m.random_state)},
             "copies": [meta for meta, _ in parts]}, {**arrays, "X_train": m.X_train_})


def _build_imputed(family, meta, a):
    """An Imputed model from its copies (each built by its family) and the rows its imputers refit on."""
    from .imputation import Imputed

    copies = [_files(family)[1](cm, {k[len(f"copy{i}."):]: v for k, v in a.items() if k.startswith(f"copy{i}.")})
              for i, cm in enumerate(meta["copies"])]
    m = Imputed(copies[0], **meta["imputed"])
    m.models_, m.X_train_ = copies, a["X_train"]
    m._scale(m.X_train_)
    m.n_missing_ = int(np.isnan(m.X_train_).any(axis=1).sum())
    return m


def dump(family: str, model) -> tuple[dict, dict]:
    """(JSON-able values, named arrays) of a fitted model of candidate family `family`."""
    files = _files(family)
    if files is None:
        raise ValueError(f"no file format for model family {family!r}")
    from .imputation import Imputed

    return _dump_imputed(family, model) if isinstance(model, Imputed) else files[0](model)


def build(family: str, meta: dict, arrays: dict, where: str = "model file"):
    """The fitted model that :func:`dump` described (a one-line FilmkbError if the description is not one)."""
    files = _files(family)
    if files is None:
        raise FilmkbError(f"{where}: unknown model family {family!r}; retrain with `filmkb train`")
    try:
        return _build_imputed(family, meta, arrays) if "imputed" in meta else files[1](meta, arrays)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise FilmkbError(f"{where}: not a {family} model filmkb wrote ({type(exc).__name__}: {exc}); "
                          "retrain with `filmkb train`") from None
