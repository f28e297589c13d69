"""Models and explanations: every family behind one contract; pure functions of matrices.

ml/ never imports kb or ingest: the application layer (filmkb.jobs) reads the descriptor matrix
from the knowledge base, hands arrays to ml and stores what comes back.

JAX must be configured before its first import anywhere in the process: Keras runs on the JAX
backend, on the CPU, with one XLA host device per core. This is the one place that sets it.
Compiled XLA programs are kept in a persistent cache in the user's cache directory
(``~/.cache/filmkb/xla`` on Linux, $XDG_CACHE_HOME respected; platformdirs elsewhere), every
program however quick to compile, so that a new process (a `train`, `evaluate` or `reproduce`) loads
the LSTM and PBP programs instead of compiling them again (`predict`, `explain` and `suggest` run a
paper run's members in NumPy: :mod:`filmkb.ml.numpy_forward`). $JAX_COMPILATION_CACHE_DIR, when set,
wins; FILMKB_XLA_CACHE=0 turns the cache off.
"""

import os as _os

_os.environ.setdefault("KERAS_BACKEND", "jax")
_os.environ.setdefault("JAX_PLATFORMS", "cpu")
if "xla_force_host_platform_device_count" not in _os.environ.get("XLA_FLAGS", ""):
    _os.environ["XLA_FLAGS"] = (_os.environ.get("XLA_FLAGS", "")
                                + f" --xla_force_host_platform_device_count={min(_os.cpu_count() or 1, 8)}").strip()


def _xla_cache_dir() -> str:
    """The persistent XLA compilation cache: <user cache dir>/filmkb/xla."""
    from platformdirs import user_cache_dir

    return _os.path.join(user_cache_dir("filmkb", appauthor=False), "xla")


if _os.environ.get("FILMKB_XLA_CACHE", "1") != "0" and "JAX_COMPILATION_CACHE_DIR" not in _os.environ:
    _os.environ["JAX_COMPILATION_CACHE_DIR"] = _xla_cache_dir()
    _os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
