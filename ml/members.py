"""Seeds and combination of a model's members (copies trained with different seeds).

Member r of a model trained with base seed s has seed ``s * SEED_STRIDE + r``; in a fold layout,
copy ``r * F + f`` (repeat r, fold f) has seed ``s * SEED_STRIDE + r * F + f``. The ensemble's
mean and standard deviation come from :func:`combine`, shared by evaluation and prediction, so a
validated number and a deployed number come from one formula.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SEED_STRIDE", "member_seeds", "combine", "mixture"]

SEED_STRIDE = 1_000_003


def member_seeds(seed: int, n: int) -> np.ndarray:
    """Seeds of n members (or n layout copies) trained from base seed `seed`."""
    return int(seed) * SEED_STRIDE + np.arange(int(n))


def mixture(means, variances=None):
    """(mean, std, spread) of an equal-weight mixture of members (axis 0): points if variances is None,
    else Gaussians: std = sqrt(mean variance + spread^2)."""
    means = np.asarray(means)
    spread = means.std(axis=0)
    if variances is None:
        return means.mean(axis=0), spread, spread
    return means.mean(axis=0), np.sqrt(np.asarray(variances).mean(axis=0) + spread**2), spread


def combine(lstm_members, pbp_means, pbp_vars):
    """(mean, std, spread) over the 2R members (axis 0): std = sqrt(spread_2R^2 + mean PBP var / 2)."""
    both = np.concatenate([np.asarray(lstm_members), np.asarray(pbp_means)])
    spread = both.std(axis=0)
    return both.mean(axis=0), np.sqrt(spread**2 + np.asarray(pbp_vars).mean(axis=0) / 2.0), spread
