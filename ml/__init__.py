"""Models and explanations: PBP, LSTM, their ensemble, evaluation, SHAP; pure functions of a matrix.

JAX must be configured before its first import anywhere in the process: Keras runs on the JAX
backend, on the CPU, with one XLA host device per core so that many small models train on both.
"""

import os as _os

_os.environ.setdefault("KERAS_BACKEND", "jax")
_os.environ.setdefault("JAX_PLATFORMS", "cpu")
if "xla_force_host_platform_device_count" not in _os.environ.get("XLA_FLAGS", ""):
    _os.environ["XLA_FLAGS"] = (_os.environ.get("XLA_FLAGS", "")
                                + f" --xla_force_host_platform_device_count={min(_os.cpu_count() or 1, 8)}").strip()

_API = {"train", "predict", "explain", "reproduce", "load_run"}


def __getattr__(name):
    """ml.train / ml.predict / ml.explain / ml.reproduce (see ml.workflow), imported on first use."""
    if name in _API:
        from . import workflow

        return getattr(workflow, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
