"""One setting of the XLA CPU compiler, applied before the first model is compiled.

JAX lowers its threefry random-bit hash as a rolled 5-iteration loop on the CPU (to keep programs
small), and an unrolled sequence of the same integer operations elsewhere. Here the rolled loop
sits inside every optimiser step (the LSTM's dropout) and every PBP epoch (the shuffle), and XLA
compiles and runs the unrolled form faster: measured, the paper LSTM's program compiles in 3 s
instead of 9 s and the PBP program in ~4 s instead of ~9 s; the random bits are the same integers,
the float results move by round-off (1e-6 on an LSTM prediction). JAX registers the rule under a
private module; if a JAX release moves it, nothing changes but the speed.
"""

from __future__ import annotations

__all__ = ["configure"]

_DONE: list = []


def configure() -> bool:
    """Use the unrolled threefry lowering on the CPU (idempotent); False if this JAX has no such rule."""
    if _DONE:
        return _DONE[0]
    try:
        from jax._src.interpreters import mlir
        from jax._src.random import threefry2x32

        mlir.register_lowering(threefry2x32.threefry2x32_p, threefry2x32._threefry2x32_lowering_rule, platform="cpu")
        _DONE.append(True)
    except (ImportError, AttributeError):
        _DONE.append(False)
    return _DONE[0]
