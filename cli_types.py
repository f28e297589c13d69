"""Click parameter types that range-check numbers where they enter the command line.

A value outside its range is refused by click with one line naming the option (the CLI's error
boundary turns click's usage errors into `Error: ...`, exit code 1), before any file is opened.
"""

from __future__ import annotations

import math

import click

MAX_SEED = 2**32 - 1        # NumPy and JAX seeds are unsigned 32-bit
MAX_SECONDS = 86_400.0      # a day: longer waits and timeouts are mistakes, and inf overflows the timers


class FiniteRange(click.FloatRange):
    """A float in [min, max] that is a real number: nan, inf and 1e400 are refused."""

    def convert(self, value, param, ctx):
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


SEED = click.IntRange(0, MAX_SEED)
SECONDS = FiniteRange(0, MAX_SECONDS)
