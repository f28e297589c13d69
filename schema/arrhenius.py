"""A film's conductivity at 25 C from the value a paper reports at its measurement temperature.

The one place the conversion is defined: ingest stores its result with every film, and the
version-3 migration (kb/migrations.py) fills it for films stored before. Pure; no database.

Arrhenius law in its sigma*T form (hopping conduction), temperatures in kelvin:

    sigma(T) * T = A exp(-Ea / (k_B T))
    sigma_25 = sigma_m * (T_m / T_25) * exp(-Ea / k_B * (1 / T_25 - 1 / T_m))
"""

from __future__ import annotations

import math

from .names import ROOM_TEMPERATURE_C, ROOM_TEMPERATURE_TOLERANCE_C

BOLTZMANN_EV_PER_K = 8.617333262e-5  # k_B, eV/K (CODATA 2018, exact)
ZERO_CELSIUS_K = 273.15
MAX_ACTIVATION_ENERGY_EV = 3.0  # an activation energy must lie in (0, 3) eV


def at_room_temperature(measured_c: float) -> bool:
    """True if a value measured at `measured_c` counts as a 25 C value (20-30 C, bounds included)."""
    return abs(measured_c - ROOM_TEMPERATURE_C) <= ROOM_TEMPERATURE_TOLERANCE_C


def conductivity_25c(sigma_s_cm: float, measured_c: float,
                     activation_energy_ev: float | None) -> tuple[float | None, bool]:
    """(conductivity at 25 C in S/cm, derived?) of a conductivity measured at `measured_c` degrees C.

    Measured at room temperature (see `at_room_temperature`): the measured value, not derived,
    whatever the activation energy. Elsewhere with an activation energy: converted by the
    Arrhenius law above, derived. Elsewhere without one: (None, False), no 25 C value.
    """
    if at_room_temperature(measured_c):
        return sigma_s_cm, False
    if activation_energy_ev is None or activation_energy_ev != activation_energy_ev:  # None or NaN
        return None, False
    t_m = measured_c + ZERO_CELSIUS_K
    t_25 = ROOM_TEMPERATURE_C + ZERO_CELSIUS_K
    factor = (t_m / t_25) * math.exp(-activation_energy_ev / BOLTZMANN_EV_PER_K * (1.0 / t_25 - 1.0 / t_m))
    return sigma_s_cm * factor, True
