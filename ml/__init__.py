"""Models and explanations: every family behind one contract; pure functions of matrices.

ml/ never imports kb or ingest: the application layer (filmkb.jobs) reads the descriptor matrix
from the knowledge base, hands arrays to ml and stores what comes back.

JAX must be configured before its first import anywhere in the process: Keras runs on the JAX
backend, on the CPU, with one XLA host device per core. This is the one place that sets it.
"""

import os as _os

_os.environ.setdefault("KERAS_BACKEND", "jax")
_os.environ.setdefault("JAX_PLATFORMS", "cpu")
if "xla_force_host_platform_device_count" not in _os.environ.get("XLA_FLAGS", ""):
    _os.environ["XLA_FLAGS"] = (_os.environ.get("XLA_FLAGS", "")
                                + f" --xla_force_host_platform_device_count={min(_os.cpu_count() or 1, 8)}").strip()
