"""A paper run read for predict, explain and suggest predicts in NumPy (ml/numpy_forward.py), without
importing JAX or Keras: its LSTM and PBP members, the ensemble's mean and variance and its Shapley
values agree with the JAX/Keras code that trained them to FORWARD_TOLERANCE, and a cold
`filmkb predict --model paper` / `explain --model paper` answers through that path and names the
paper's ensemble. Real training, kept short: 2 LSTM (40 epochs) + 2 PBP members on the curated films."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import filmkb
from filmkb import kb
from filmkb.ml import paper_run
from filmkb.ml.engine import TrainedCopies
from filmkb.ml.lstm import PAPER
from filmkb.ml.neural import LSTMModel
from filmkb.ml.numpy_forward import FORWARD_TOLERANCE, NumpyLSTM, NumpyPBP, StoredPBP
from filmkb.ml.shapley import exact_shap

TOL = FORWARD_TOLERANCE
CONDITION = ["--substrate", "MgO", "--temp-c", "700", "--thickness-nm", "300"]


@pytest.fixture(scope="module")
def trained(built_db, tmp_path_factory):
    """A private database copy with one quick paper run (2 LSTM + 2 PBP members)."""
    path = str(tmp_path_factory.mktemp("numpy_forward") / "filmkb.duckdb")
    shutil.copy2(built_db, path)
    return path, filmkb.train(path, model="paper", repeats=2, lstm=PAPER.replace(epochs=40), pbp_epochs=20)


def _queries(X) -> np.ndarray:
    """The training films, films moved by up to half a standard deviation, and rows 50 % outside the
    training ranges (predict answers for them too)."""
    rng = np.random.default_rng(0)
    moved = X + rng.uniform(-0.5, 0.5, X.shape) * X.std(axis=0)
    return np.concatenate([X, moved, X * 1.5, X * 0.5])


def test_numpy_members_and_ensemble_agree_with_the_jax_keras_path(trained):
    _, res = trained
    fast, _ = paper_run.load(res.directory, numpy_forward=True)
    assert type(fast.lstm) is NumpyLSTM and type(fast.pbp) is NumpyPBP
    jax_model = res.model  # the ensemble as trained, predicting through Keras' stateless_call and JAX PBP
    Xq = _queries(jax_model.X_train_)
    lstm, lstm_jax = fast.lstm.predict_members(Xq).mean, jax_model.lstm.predict_members(Xq).mean
    assert lstm.shape == lstm_jax.shape == (2, len(Xq)) and np.ptp(lstm_jax, axis=1).min() > 0.1
    assert np.abs(lstm - lstm_jax).max() <= TOL  # every LSTM member
    pbp, pbp_jax = fast.pbp.predict_members(Xq), jax_model.pbp.predict_members(Xq)
    assert np.abs(pbp.mean - pbp_jax.mean).max() <= TOL and np.abs(pbp.var - pbp_jax.var).max() <= TOL
    parts, parts_jax = fast.parts(Xq), jax_model.parts(Xq)
    assert np.abs(parts["mean"] - parts_jax["mean"]).max() <= TOL
    assert np.abs(parts["std"] ** 2 - parts_jax["std"] ** 2).max() <= TOL
    for key in ("lstm_mean", "pbp_mean", "spread"):
        assert np.abs(parts[key] - parts_jax[key]).max() <= TOL, key
    assert np.abs(fast.predict_mean(Xq) - jax_model.predict_mean(Xq)).max() <= TOL


def test_shapley_values_of_the_numpy_path_agree_with_the_jax_keras_path(trained):
    _, res = trained
    fast, _ = paper_run.load(res.directory, numpy_forward=True)
    X = res.model.X_train_
    new, old = exact_shap(fast.predict_mean, X), exact_shap(res.model.predict_mean, X)
    assert np.abs(old.values).max() > 0.01
    assert np.abs(new.values - old.values).max() <= TOL and np.abs(new.base_values - old.base_values).max() <= TOL


def _random_copies(R, d, units, arrangement, rng) -> TrainedCopies:
    step = d if arrangement == "features" else 1
    tr = [rng.normal(0, 0.5, (R, step, 4 * units)), rng.normal(0, 0.5, (R, units, 4 * units)),
          rng.normal(0, 0.5, (R, 4 * units)), rng.normal(0, 0.5, (R, units, 1)), rng.normal(0, 0.5, (R, 1))]
    tr = [w.astype(np.float32) for w in tr]
    nt = [np.zeros((R, 2), np.uint32)] * 2  # the LSTM's and the dropout's seed states (unused when predicting)
    return TrainedCopies(tr, nt, rng.normal(0, 1, (R, d)), rng.uniform(0.5, 2, (R, d)), rng.normal(6, 1, R),
                         rng.uniform(0.5, 2, R))


@pytest.mark.parametrize("arrangement", ["features", "steps"])
def test_numpy_lstm_follows_keras_in_both_sequence_arrangements(arrangement):
    """Weights drawn at random (the forward pass is what is compared): one step of seven features, and
    seven steps of one feature each, where the recurrent kernel and the forget gate count."""
    rng = np.random.default_rng(1)
    model = LSTMModel(PAPER.replace(units=4, arrangement=arrangement), repeats=3)
    model.copies_, model.seeds_, model.n_features_in_ = _random_copies(3, 7, 4, arrangement, rng), np.arange(3), 7
    X = rng.normal(0, 2, (50, 7))
    fast, keras_ = NumpyLSTM.of(model).predict_members(X).mean, model.predict_members(X).mean
    assert np.ptp(keras_, axis=1).min() > 0.1 and np.abs(fast - keras_).max() <= TOL
    other = LSTMModel(PAPER.replace(units=5, arrangement=arrangement), repeats=3)
    other.copies_, other.seeds_, other.n_features_in_ = model.copies_, model.seeds_, 7
    with pytest.raises(ValueError, match="are not those of 3 LSTM[(]5[)] regressors"):
        NumpyLSTM.of(other)


@pytest.mark.parametrize("hidden", [(5,), (6, 3)])
def test_numpy_pbp_follows_jax_pbp(hidden, tmp_path):
    from filmkb.ml.pbp import PBPMembers

    rng = np.random.default_rng(2)
    R, d, sizes = 3, 7, (7, *hidden, 1)
    M = tuple(rng.normal(0, 1, (R, o, i + 1)) for i, o in zip(sizes[:-1], sizes[1:]))
    V = tuple(rng.uniform(0.01, 0.5, (R, o, i + 1)) for i, o in zip(sizes[:-1], sizes[1:]))
    members = PBPMembers(M, V, rng.uniform(5, 50, R), rng.uniform(1, 5, R), rng.normal(0, 1, (R, d)),
                         rng.uniform(0.5, 2, (R, d)), rng.normal(6, 1, R), rng.uniform(0.5, 2, R))
    members.save(tmp_path / "pbp.npz")
    stored = StoredPBP.load((tmp_path / "pbp.npz").read_bytes())
    X = rng.normal(0, 3, (80, d))
    (mean, var), (mean_jax, var_jax) = stored.predict(X), members.predict(X)
    assert np.ptp(mean_jax, axis=1).min() > 0.1
    assert np.abs(mean - mean_jax).max() <= TOL and np.abs(var - var_jax).max() <= TOL


_COLD = """
import json, sys
from click.testing import CliRunner
from filmkb.cli import main
db, out = sys.argv[1], sys.argv[2]
condition = {condition!r}
runs = [["predict", *condition, "--model", "paper", "--no-store", "--format", "json"],
        ["predict", *condition, "--model", "paper", "--no-store"],
        ["explain", "--model", "paper", "--out", out]]
outputs = []
for args in runs:
    res = CliRunner().invoke(main, ["--db", db, *args])
    outputs.append([res.exit_code, res.output])
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & {{"jax", "jaxlib", "keras"}})
print(json.dumps({{"outputs": outputs, "imported": heavy}}))
"""


def test_a_cold_predict_and_explain_of_the_paper_run_use_numpy_and_name_the_ensemble(trained, tmp_path):
    """One new process runs predict --model paper (json and table) and explain --model paper: no JAX or
    Keras is imported, the output names the paper's ensemble and run, and the numbers are those of the
    JAX/Keras path to FORWARD_TOLERANCE (the Shapley values as stored with the run)."""
    path = str(tmp_path / "filmkb.duckdb")
    shutil.copy2(trained[0], path)
    res = trained[1]
    done = subprocess.run([sys.executable, "-c", _COLD.format(condition=CONDITION), path, str(tmp_path / "figures")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["imported"] == []
    (code_json, as_json), (code_table, table), (code_explain, explained) = report["outputs"]
    assert code_json == code_table == code_explain == 0, (as_json, table, explained)
    row = json.loads(as_json)[0]
    assert (row["model"], row["run_id"]) == ("ensemble", res.run_id)
    names = json.loads((res.directory / "manifest.json").read_text())["descriptors"]
    cells = dict(zip(("substrate", "deposition_temp_c", "thickness_nm"), CONDITION[1::2]))
    frame = filmkb.predict(cells=cells, db=path, store=False, model="paper").frame  # the condition's descriptors
    parts = res.model.parts(frame[names].to_numpy(dtype=np.float64))
    assert abs(row["log10_sigma_mean"] + parts["mean"][0]) <= TOL
    assert abs(row["log10_sigma_std"] ** 2 - parts["std"][0] ** 2) <= TOL
    assert f"model: the paper's LSTM + PBP ensemble, run {res.run_id}; nothing stored" in table
    assert f"model: the paper's LSTM + PBP ensemble, run {res.run_id}; 182 SHAP values stored" in explained
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["shap_bar.png", "shap_beeswarm.png"]
    with kb.open(path) as k:
        stored = k.sql("SELECT film_id, descriptor, shap_value FROM shap_values WHERE run_id = ?", [res.run_id])
        matrix = k.model_matrix()
    X = matrix[names].to_numpy(dtype=np.float64)
    old = exact_shap(res.model.predict_mean, X, background=res.model.X_train_)
    values = stored.pivot(index="film_id", columns="descriptor", values="shap_value").loc[matrix.index, names]
    assert np.abs(values.to_numpy() - old.values).max() <= TOL


class _Marker:
    """Unpickling this creates the marker file: proof that a model file ran code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_the_numpy_reader_refuses_a_pickle_or_other_members_in_one_line(trained, tmp_path):
    from filmkb.errors import FilmkbError
    from filmkb.ml.artifacts import sha256

    directory = tmp_path / "run"
    shutil.copytree(trained[1].directory, directory)
    manifest_path = directory / "manifest.json"

    def replace(name, **arrays):
        """The file rewritten and the manifest with its new hash (the run's record still holds the old one,
        so only the ml-level reader gets this far)."""
        if arrays:
            np.savez(directory / name, **arrays)
        else:
            shutil.copy2(trained[1].directory / name, directory / name)
        manifest = json.loads(manifest_path.read_text())
        manifest["files"][name] = sha256(directory / name)
        manifest_path.write_text(json.dumps(manifest))

    marker = tmp_path / "MARKER"
    replace("pbp_members.npz", a_n=np.array([_Marker(marker)], dtype=object))
    with pytest.raises(FilmkbError, match=r"pbp_members.npz: not PBP members filmkb wrote \(.*\); retrain"):
        paper_run.load(directory, numpy_forward=True)
    assert not marker.exists()
    replace("pbp_members.npz")  # the trained file again
    with np.load(trained[1].directory / "lstm_members.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["tr1"] = arrays["tr1"][:, :5]  # a recurrent kernel of another width
    replace("lstm_members.npz", **arrays)
    with pytest.raises(FilmkbError, match=r"lstm_members.npz: not LSTM members filmkb wrote \(weight shapes"):
        paper_run.load(directory, numpy_forward=True)
