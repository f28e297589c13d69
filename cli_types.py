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
# Counts: at least one, and at most far beyond any real use, so 2**70 is a one-line refusal rather than an
# OverflowError deep inside (csv.field_size_limit, NumPy) or a job that would never end.
REPEATS = click.IntRange(1, 10_000)
EPOCHS = click.IntRange(1, 1_000_000)
JOBS = click.IntRange(1, 256)
TRIALS = click.IntRange(1, 10_000)
TOP = click.IntRange(1, 100_000)            # the largest suggest grid
ROWS = click.IntRange(1, 10_000_000)
CELL_CHARS = click.IntRange(1, 256 * 2**20)  # an entry file holds at most 256 MiB
