"""Model files are data: a trained run's files cannot run code when read, are checked against the hashes
recorded at training (files in the manifest, the manifest in the knowledge base), and a manifest cannot
name a file outside its run's folder. Every candidate family round-trips to the same predictions."""

import json
import pickle
import shutil
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

import filmkb
from filmkb import kb
from filmkb.cli import main
from filmkb.errors import FilmkbError
from filmkb.ml import model_state, paper_run, recommended
from filmkb.ml.artifacts import load_npz, save_npz, sha256
from filmkb.ml.domain import Domain
from filmkb.ml.lstm import PAPER
from filmkb.ml.select import Candidate
from filmkb.schema.descriptors import MODEL_COLUMNS, PAPER7

QUICK = PAPER.replace(epochs=40)


class Marker:
    """Unpickling this creates the marker file: proof that a model file ran code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def run(built_db, tmp_path_factory):
    """A private database copy with one quick recommended run (the small candidate list)."""
    path = str(tmp_path_factory.mktemp("files") / "filmkb.duckdb")
    shutil.copy2(built_db, path)
    return path, filmkb.train(path, model="recommended", candidates="small")


@pytest.fixture
def kept(run):
    """The run's folder, restored byte for byte after the test whatever it changed."""
    directory = run[1].directory
    saved = {p.name: p.read_bytes() for p in directory.iterdir()}
    yield directory
    for p in directory.iterdir():
        if p.name not in saved:
            p.unlink()
    for name, data in saved.items():
        (directory / name).unlink(missing_ok=True)
        (directory / name).write_bytes(data)


def _predict(db):
    return CliRunner().invoke(main, ["--db", db, "predict", "--film", "3"])


def _one_line_error(res, *needles):
    assert res.exit_code == 1, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.output
    assert "Traceback" not in res.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def _rehash(directory, name):
    """The manifest rewritten to record `name`'s present hash (an attacker who edits both; the knowledge
    base's record of the manifest still catches it, so this reaches only the ml-level loader)."""
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["files"][name] = sha256(directory / name)
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_the_run_saves_data_files_and_records_their_hashes(run):
    path, res = run
    directory = res.directory
    assert sorted(p.name for p in directory.iterdir()) == ["manifest.json", "recommended.npz"]
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["format_version"] == 2 and manifest["model_file"] == "recommended.npz"
    assert manifest["files"] == {"recommended.npz": sha256(directory / "recommended.npz")}
    with kb.open(path) as k:
        config = json.loads(k.model_run(res.run_id, "train")["config_json"])
    assert config["manifest_sha256"] == sha256(directory / "manifest.json")
    with np.load(directory / "recommended.npz", allow_pickle=False) as z:  # nothing in it needs a pickle
        assert "meta" in z.files and all(z[k].dtype != object for k in z.files)


def test_predictions_after_loading_are_the_trained_models_bit_for_bit(run):
    path, res = run
    with kb.open(path) as k:
        m = k.model_matrix()
    X, groups = m[list(MODEL_COLUMNS)].to_numpy(dtype=np.float64), m["reference_id"].to_numpy()
    loaded, _ = recommended.load(res.directory)
    for g in (groups, None):
        before, after = res.model.predict_parts(X, g), loaded.predict_parts(X, g)
        for key in before:
            np.testing.assert_array_equal(after[key], before[key], err_msg=key)
    assert loaded.chosen_ == res.model.chosen_ and loaded.fitted_.choice == res.model.fitted_.choice
    assert _predict(path).exit_code == 0


def test_a_procedure_that_chose_a_descriptor_model_reloads_bit_for_bit(run, tmp_path):
    path, res = run
    with kb.open(path) as k:
        m = k.model_matrix()
    X, y, groups = m[list(MODEL_COLUMNS)].to_numpy(dtype=np.float64), m[kb.TARGET].to_numpy(), m["reference_id"].to_numpy()
    model, _ = recommended.load(res.directory)  # a private copy, then as if it had chosen extra trees
    model.chosen_ = Candidate("et", "extended")
    model.f_ = model.chosen_.model(3, 2).fit(X[:, model.columns["extended"]], y)
    model.fitted_.domain = Domain().fit(X[:, model.columns["extended"]], groups)  # its own descriptors' domain
    recommended.save(model, tmp_path / "et", {"descriptors": list(MODEL_COLUMNS)})
    loaded, manifest = recommended.load(tmp_path / "et")
    assert manifest["chosen"] == "et:extended" and loaded.chosen_ == model.chosen_
    before, after = model.predict_parts(X * 1.01, groups), loaded.predict_parts(X * 1.01, groups)
    for key in before:
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)


def test_a_pickle_in_place_of_the_model_runs_nothing_and_is_refused_in_one_line(run, kept, tmp_path):
    marker = tmp_path / "MARKER"
    (kept / "recommended.npz").write_bytes(pickle.dumps(Marker(marker)))
    _one_line_error(_predict(run[0]), "recommended.npz", "hash does not match the run's manifest")
    _rehash(kept, "recommended.npz")  # the manifest edited too: its record in the knowledge base catches it
    _one_line_error(_predict(run[0]), "manifest.json", "hash does not match the run's record")
    with pytest.raises(FilmkbError, match="not a model file filmkb wrote"):  # and the file itself is not read
        recommended.load(kept)
    # a pickled object array inside a real .npz: refused by allow_pickle=False, not unpickled
    np.savez(kept / "recommended.npz", meta=np.array("{}"), r=np.array([Marker(marker)], dtype=object))
    _rehash(kept, "recommended.npz")
    with pytest.raises(FilmkbError, match="recommended.npz: not a model file filmkb wrote"):
        recommended.load(kept)
    assert not marker.exists()


def test_a_changed_byte_is_caught_by_the_hash(run, kept):
    data = bytearray((kept / "recommended.npz").read_bytes())
    data[len(data) // 2] ^= 1
    (kept / "recommended.npz").write_bytes(bytes(data))
    _one_line_error(_predict(run[0]), f"{kept / 'recommended.npz'}: hash does not match the run's manifest; "
                                      "the file was changed after training")


def test_an_edited_manifest_is_caught_by_the_knowledge_base(run, kept):
    manifest = json.loads((kept / "manifest.json").read_text())
    manifest["domain_threshold"] = 1e9
    (kept / "manifest.json").write_text(json.dumps(manifest))
    _one_line_error(_predict(run[0]), "manifest.json: hash does not match the run's record in the knowledge base")


@pytest.mark.parametrize("name", ["/etc/passwd", "../x.npz", "sub/../../x.npz", "", 7])
def test_a_manifest_cannot_name_a_file_outside_its_run(run, kept, name):
    (kept.parent / "x.npz").write_bytes((kept / "recommended.npz").read_bytes())
    manifest = json.loads((kept / "manifest.json").read_text())
    manifest["model_file"] = name
    (kept / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FilmkbError) as err:
        recommended.load(kept)
    assert len(str(err.value).splitlines()) == 1 and "manifest.json: file name" in str(err.value)
    _one_line_error(_predict(run[0]), "manifest.json")  # through the CLI the manifest's own hash stops it first
    (kept.parent / "x.npz").unlink()


def test_a_symlink_out_of_the_run_or_a_fifo_is_refused(run, kept, tmp_path):
    outside = tmp_path / "elsewhere.npz"
    outside.write_bytes((kept / "recommended.npz").read_bytes())
    (kept / "recommended.npz").unlink()
    (kept / "recommended.npz").symlink_to(outside)
    _one_line_error(_predict(run[0]), "recommended.npz: points outside the run's folder")
    (kept / "recommended.npz").unlink()
    import os

    os.mkfifo(kept / "recommended.npz")  # reading it would block for ever
    _one_line_error(_predict(run[0]), "recommended.npz: not a regular file")


def test_a_run_saved_as_a_pickle_by_an_older_filmkb_is_refused_without_reading_it(run, kept, tmp_path):
    marker = tmp_path / "MARKER"
    (kept / "recommended.joblib").write_bytes(pickle.dumps(Marker(marker)))
    manifest = json.loads((kept / "manifest.json").read_text())
    manifest.update(format_version=1, model_file="recommended.joblib")
    del manifest["files"]
    (kept / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FilmkbError, match=r"recommended.joblib: saved by an older filmkb as a pickle.*filmkb train"):
        recommended.load(kept)
    # as an older filmkb recorded it: no hash of its manifest in the run's record (in a copy of the database)
    db = str(tmp_path / "old.duckdb")
    shutil.copy2(run[0], db)
    with kb.open(db) as k, k.transaction():
        k.store_run("train-old", "train", {"model": "recommended"}, "hash", 26, {}, models_dir=str(kept))
    for command in (["predict", "--run", "train-old", "--film", "3"], ["explain", "--run", "train-old"],
                    ["suggest", "--run", "train-old", "--substrate", "MgO"]):
        _one_line_error(CliRunner().invoke(main, ["--db", db, *command]), "recommended.joblib: saved by an older "
                        "filmkb as a pickle, which filmkb no longer loads", "retrain with `filmkb train`")
    assert not marker.exists()


# ------------------------------------------------------------------ every family round-trips


@pytest.fixture(scope="module")
def matrix(built_db):
    with kb.open(built_db) as k:
        m = k.model_matrix()
    return m[list(PAPER7)].to_numpy(dtype=np.float64), m[kb.TARGET].to_numpy(dtype=np.float64)


def _fitted(family, X, y):
    from filmkb.ml.ensemble import PaperEnsemble
    from filmkb.ml.neural import LSTMModel, PBPModel

    if family == "lstm":
        return LSTMModel(QUICK, repeats=2, random_state=1).fit(X, y)
    if family == "pbp":
        return PBPModel(epochs=5, repeats=2, random_state=1).fit(X, y)
    if family == "ensemble":
        return PaperEnsemble(LSTMModel(QUICK, 2, 1), PBPModel(epochs=5, repeats=2, random_state=1)).fit(X, y)
    return Candidate(family, "paper7").model(1, 2).fit(X, y)


@pytest.mark.parametrize("family", ["mean", "ridge", "gp", "et", "rf", "pbp", "lstm", "ensemble"])
def test_every_candidate_family_reloads_to_the_same_predictions(family, matrix, tmp_path):
    X, y = matrix
    model = _fitted(family, X, y)
    save_npz(tmp_path / "f.npz", *model_state.dump(family, model))
    back = model_state.build(family, *load_npz((tmp_path / "f.npz").read_bytes(), "f.npz"))
    Xq = np.concatenate([X, X[:3] * 1.5])
    for a, b in zip(model.predict_dist(Xq), back.predict_dist(Xq)):
        np.testing.assert_array_equal(b, a)
    assert type(back) is type(model) and back.get_params().keys() == model.get_params().keys()


def _modules(config) -> set:
    """Every Python module a Keras config names (a custom object would name its own)."""
    if isinstance(config, dict):
        return ({config["module"]} if isinstance(config.get("module"), str) else set()).union(
            *[_modules(v) for v in config.values()])
    return set().union(*[_modules(v) for v in config]) if isinstance(config, list) else set()


def test_the_paper_ensemble_checks_its_keras_and_pbp_files(matrix, tmp_path):
    import keras

    X, y = matrix
    model = _fitted("ensemble", X, y)
    directory = tmp_path / "run"
    paper_run.save(model, directory, {"descriptors": list(PAPER7)})
    loaded, _ = paper_run.load(directory)
    np.testing.assert_array_equal(loaded.parts(X)["mean"], model.parts(X)["mean"])
    member = directory / "lstm" / "member_001.keras"
    config = zipfile.ZipFile(member).read("config.json")
    assert all(m.split(".")[0] == "keras" for m in _modules(json.loads(config))) and b"Lambda" not in config
    exported = keras.saving.load_model(member, safe_mode=True, compile=False)  # plain Keras: no custom object
    np.testing.assert_allclose(exported.predict(X.astype("float32"), verbose=0)[:, 0], model.lstm.predict_members(X).mean[1],
                               atol=1e-4)
    good = member.read_bytes()
    member.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(FilmkbError, match="member_001.keras: hash does not match the run's manifest"):
        paper_run.load(directory)
    member.write_bytes(good)
    marker = tmp_path / "MARKER"
    np.savez(directory / "pbp_members.npz", a_n=np.array([Marker(marker)], dtype=object))
    _rehash(directory, "pbp_members.npz")
    with pytest.raises(FilmkbError, match="pbp_members.npz: not PBP members filmkb wrote"):
        paper_run.load(directory)
    assert not marker.exists()
