"""The numbers held fixed: a seeded `filmkb evaluate --repeats 2` must print the JSON recorded before
the refactor (tests/golden/, made at commit 230b10c), key for key and value for value.

Bit-for-bit equality is a property of one CPU, named by its model and instruction-set flags (XLA
compiles for the host's instruction set, the host BLAS picks its kernels by them, and 3,200 LSTM
epochs amplify a last-bit difference), so on the CPU the file was recorded on every value must be
identical; elsewhere the float64 models must agree to 1e-5 (the GP's L-BFGS-B moved 3.8e-6 between
two AMD EPYCs) and the LSTM-based ones only in structure.
"""

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from filmkb.cli import main

GOLDEN = Path(__file__).resolve().parent / "golden"
VOLATILE = ("run_id", "seconds", "timings")
STABLE_MODELS = ("mean", "ridge", "gp", "rf", "pbp")


def _cpu() -> str:
    """The CPU's model name and a hash of its instruction-set flags."""
    name, flags = "unknown", ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name") and name == "unknown":
            name = line.split(":", 1)[1].strip()
        if line.startswith("flags") and not flags:
            flags = " ".join(sorted(line.split(":", 1)[1].split()))
    return f"{name} [flags {hashlib.sha256(flags.encode()).hexdigest()[:12]}]"


def _stable(doc: dict) -> dict:
    return {s: {m: v for m, v in ms.items() if m in STABLE_MODELS} for s, ms in doc["subsets"].items()}


def _recorded(doc, golden):
    """`doc` cut down to the keys the golden file has (nested dicts alike; lists and values as they are)."""
    if isinstance(golden, dict) and isinstance(doc, dict):
        return {k: _recorded(doc.get(k), v) for k, v in golden.items()}
    return doc


def test_seeded_evaluate_json_is_unchanged(db_path, tmp_path):
    golden = json.loads((GOLDEN / "evaluate_repeats2_epochs60.json").read_text())
    recorded_on = golden.pop("_golden")
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(main, ["--db", db_path, "evaluate", "--repeats", "2", "--epochs", "60", "--seed", "0",
                                       "--models", "lstm,pbp,ensemble,baselines", "--json", str(out), "--silent"])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    for key in VOLATILE:
        doc.pop(key)
    doc = json.loads(json.dumps(doc, sort_keys=True))  # same float round trip as the golden file
    assert set(golden) <= set(doc)
    if recorded_on["cpu"] == _cpu():  # every value recorded then is the same now (later keys are additions)
        assert _recorded(doc, golden) == golden
    else:
        assert _recorded(doc["config"], golden["config"]) == golden["config"]
        got, want = _stable(doc), _stable(golden)
        for subset in want:
            for model in want[subset]:
                assert got[subset][model] == pytest.approx(want[subset][model], rel=1e-6, abs=1e-5, nan_ok=True)
