"""The candidate grid of `filmkb suggest`: the user's constraints read and checked, what they leave open
taken from the stored films, every combination listed, and the conditions already tested marked.

Ranges are START:STOP:STEP with the stop included (400:900:50 is 11 temperatures), a (start, stop, step)
tuple, or one value; plain numbers in degrees C and nm. Substrates default to every stored one; the
method, composition and phase to the most common among the stored films (ties: alphabetical first);
the orientation is the one most stored films on that substrate have (recorded, not a descriptor);
the prediction refers to 25 C.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import FilmkbError
from ..schema.expectations import DEPOSITION_TEMP_C, THICKNESS_NM
from ..schema.names import ROOM_TEMPERATURE_C

__all__ = ["Axis", "Grid", "parse_range", "build_grid", "tested", "CONSTRAINTS", "DEFAULT_TEMP_C",
           "DEFAULT_THICKNESS_NM"]

CONSTRAINTS = ("substrate", "method", "temp_c", "thickness_nm", "composition", "phase", "exclude_tested")
DEFAULT_TEMP_C = "400:900:50"
DEFAULT_THICKNESS_NM = "100:1000:100"
MAX_CANDIDATES = 100_000  # a bigger grid is a typo in a step, not a plan
MAX_GRID_TEMP_C = 10_000.0  # hotter than any melting point, so the melting-point check below still speaks


@dataclass(frozen=True)
class Axis:
    """The values of one range and its step (0 for a single value)."""

    values: np.ndarray
    step: float

    def as_list(self) -> list:
        return [float(self.values[0]), float(self.values[-1]), float(self.step)]


@dataclass
class Grid:
    """Every candidate condition (one row each), the axes, and how the open choices were filled."""

    frame: pd.DataFrame
    temp: Axis
    thickness: Axis
    notes: list = field(default_factory=list)
    constraints: dict = field(default_factory=dict)  # as normalised, for the run's config


def parse_range(value, option: str, unit: str, above: float, at_most: float = math.inf) -> Axis:
    """'a:b:s' (b included), (a, b, s) or one number -> Axis; anything else is a one-line FilmkbError."""
    parts = value.split(":") if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else [value]
    how = f"expected plain numbers in {unit} as START:STOP:STEP (stop included) or one value, e.g. 400:900:50"
    try:
        numbers = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise FilmkbError(f"{option} {value!r}: {how}") from None
    if len(numbers) not in (1, 3) or not all(math.isfinite(n) for n in numbers):
        raise FilmkbError(f"{option} {value!r}: {how}")
    start, stop, step = numbers if len(numbers) == 3 else (numbers[0], numbers[0], 0.0)
    if len(numbers) == 3 and step <= 0:
        raise FilmkbError(f"{option} {value!r}: the step must be positive")
    if stop < start:
        raise FilmkbError(f"{option} {value!r}: impossible range: stop {stop:g} {unit} is below start {start:g} {unit}")
    if start <= above:
        raise FilmkbError(f"{option} {value!r}: {start:g} {unit} is impossible (values must be above {above:g} {unit})")
    if stop > at_most:
        raise FilmkbError(f"{option} {value!r}: {stop:g} {unit} is beyond any film "
                          f"(at most {at_most:g} {unit})")
    span = 0.0 if step == 0 else (stop - start) / step  # 0:1e300:1e-300 is inf values, not an OverflowError
    if not span < MAX_CANDIDATES:
        raise FilmkbError(f"{option} {value!r}: {span + 1:.3g} values; use a coarser step (at most {MAX_CANDIDATES:,})")
    count = int(math.floor(span + 1e-9)) + 1
    if count > MAX_CANDIDATES:
        raise FilmkbError(f"{option} {value!r}: {count} values; use a coarser step")
    return Axis(np.round(start + step * np.arange(count), 9), step)


def _most_common(values: pd.Series):
    counts = values.dropna().value_counts()
    if counts.empty:
        return None, 0
    best = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[0]
    return best[0], int(best[1])


def _substrates(k, given) -> list[str]:
    """Canonical names of the given substrates (any alias), or every stored one in id order."""
    ids = k.substrate_ids()
    if not given:
        return sorted(ids, key=ids.get)
    vocab, names = k.vocabulary(), []
    for s in [given] if isinstance(given, str) else given:
        name = vocab.resolve("substrate", s)
        if name is None:
            raise FilmkbError(f"unknown substrate '{s}'; list the known ones with `filmkb substrates`")
        names += [name] if name not in names else []
    return names


def _material(films: pd.DataFrame, composition) -> tuple[str, str, str | None]:
    """(composition, formula, note) of the given composition (ingest's parser), or the most common formula."""
    from ..ingest.normalise import CellError, parse_composition

    if composition:
        try:
            info = parse_composition(composition)
        except CellError as exc:
            raise FilmkbError(f"--composition {composition!r}: {exc}") from None
        return info.composition, info.formula, None
    formula, n = _most_common(films["formula"])
    if formula is None:
        raise FilmkbError("no stored film to take a composition from; give --composition")
    return formula, formula, f"composition {formula} (the most common: {n} of {len(films)} stored films; --composition)"


def _method(k, films: pd.DataFrame, method) -> tuple[str, str | None]:
    if method:
        return k.resolve("method", method), None
    name, n = _most_common(films["method"])
    if name is None:
        raise FilmkbError("no stored film to take a method from; give --method")
    return name, f"method {name} (the most common: {n} of {len(films)} stored films; --method)"


def _phase(films: pd.DataFrame, phase) -> tuple[str, str | None]:
    from ..ingest.normalise import CellError, normalise_phase

    if phase:
        try:
            return normalise_phase(phase), None
        except CellError as exc:
            raise FilmkbError(f"--phase {phase!r}: {exc}") from None
    name, n = _most_common(films["phase"])
    return name, f"phase {name} (the most common: {n} of {len(films)} stored films; --phase)"


def _orientations(films: pd.DataFrame, substrates) -> dict:
    return {s: _most_common(films.loc[films["substrate"] == s, "orientation"])[0] for s in substrates}


def _given(constraints: dict, key: str, default):
    value = constraints.get(key)
    return default if value is None or (isinstance(value, str) and not value.strip()) else value


def build_grid(k, constraints: dict | None = None) -> Grid:
    """Every combination of substrate, deposition temperature and thickness the constraints allow (see the
    module), with the fixed method, composition, phase and measurement temperature; `tested` marks rows
    a stored film already covers (see `tested`)."""
    c = dict(constraints or {})
    unknown = sorted(set(c) - set(CONSTRAINTS))
    if unknown:
        raise FilmkbError(f"unknown constraint(s) {', '.join(unknown)} (known: {', '.join(CONSTRAINTS)})")
    temp = parse_range(_given(c, "temp_c", DEFAULT_TEMP_C), "--temp-c", "°C", DEPOSITION_TEMP_C[0], MAX_GRID_TEMP_C)
    thickness = parse_range(_given(c, "thickness_nm", DEFAULT_THICKNESS_NM), "--thickness-nm", "nm",
                            math.nextafter(THICKNESS_NM[0], 0.0), THICKNESS_NM[1])
    substrates = _substrates(k, c.get("substrate"))
    size = len(substrates) * len(temp.values) * len(thickness.values)
    if size > MAX_CANDIDATES:
        raise FilmkbError(f"{size} candidates (at most {MAX_CANDIDATES}); use coarser steps or fewer substrates")
    films = k.films(include_duplicates=False)
    method, m_note = _method(k, films, c.get("method"))
    composition, formula, c_note = _material(films, c.get("composition"))
    phase, p_note = _phase(films, c.get("phase"))
    orient = _orientations(films, substrates)
    s, t, h = (a.ravel() for a in np.meshgrid(np.arange(len(substrates)), temp.values, thickness.values, indexing="ij"))
    frame = pd.DataFrame({"substrate": np.array(substrates, dtype=object)[s],
                          "substrate_orientation": [orient[substrates[i]] for i in s], "method": method,
                          "composition": composition, "formula": formula, "phase": phase,
                          "measurement_temp_c": ROOM_TEMPERATURE_C, "deposition_temp_c": t, "thickness_nm": h})
    frame["source"] = [f"candidate {i + 1}" for i in range(len(frame))]
    frame["tested"] = tested(frame, films, temp.step / 2, thickness.step / 2)
    normalised = {"substrate": substrates, "method": method, "temp_c": temp.as_list(),
                  "thickness_nm": thickness.as_list(), "composition": composition, "phase": phase,
                  "exclude_tested": bool(c.get("exclude_tested", False))}
    return Grid(frame, temp, thickness, [n for n in (m_note, c_note, p_note) if n], normalised)


def tested(grid: pd.DataFrame, films: pd.DataFrame, temp_tol: float, thickness_tol: float) -> np.ndarray:
    """Per grid row: a stored film has its substrate and method, and a deposition temperature and thickness
    within half a grid step of it (the grid point nearest the film; exact for a single-value axis)."""
    stored = films.dropna(subset=["deposition_temp_c", "thickness_nm"])
    stored = stored[["substrate", "method", "deposition_temp_c", "thickness_nm"]]
    pairs = grid[["substrate", "method", "deposition_temp_c", "thickness_nm"]].reset_index(names="_row").merge(
        stored, on=["substrate", "method"], suffixes=("", "_film"))
    hit = ((pairs["deposition_temp_c"] - pairs["deposition_temp_c_film"]).abs() <= temp_tol + 1e-9) & \
          ((pairs["thickness_nm"] - pairs["thickness_nm_film"]).abs() <= thickness_tol + 1e-9)
    out = np.zeros(len(grid), dtype=bool)
    out[pairs.loc[hit, "_row"].to_numpy(dtype=int)] = True
    return out
