"""pymatgen derivations: lattices from space group + parameters, film/substrate misfit, and the
coincidence-lattice (ZSL) strain of a film on an oriented substrate. Pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# ZSL search limits: Table 1 misfits reach -9 %, beyond pymatgen's default 3 % length tolerance.
ZSL_SETTINGS = dict(max_length_tol=0.12, max_area_ratio_tol=0.25, max_angle_tol=0.01, max_area=400.0)


@lru_cache(maxsize=None)
def space_group(symbol: str):
    """pymatgen's SpaceGroup, kept alive. pymatgen caches instances only weakly, and building one costs
    ~0.5 s (its symmetry operations are compared pairwise): a build made 18 for 4 symbols. Holding one
    per symbol here also serves Structure.from_spacegroup, which asks pymatgen's cache by the symbol."""
    from pymatgen.symmetry.groups import SpaceGroup

    return SpaceGroup(symbol)


@lru_cache(maxsize=1)
def _zsl_in_python() -> None:
    """Run pymatgen's coincidence-lattice helpers as plain Python. They are numba-jitted without a
    cache, so every process compiled them (~10 s) before matching a handful of small lattices, which
    plain Python does in well under a second; the arithmetic is the same."""
    from pymatgen.analysis.interfaces import substrate_analyzer, zsl

    for module in (zsl, substrate_analyzer):
        for name, value in list(vars(module).items()):
            if hasattr(value, "py_func") and callable(value):
                setattr(module, name, value.py_func)


def build_lattice(space_group_symbol: str, a: float, b: float | None = None, c: float | None = None,
                  alpha: float = 90.0, beta: float = 90.0, gamma: float = 90.0):
    """A pymatgen Lattice from stored parameters, checked against the space group's crystal system."""
    from pymatgen.core import Lattice

    group = space_group(space_group_symbol)
    system = group.crystal_system
    b = a if b is None else b
    if c is None:
        if system != "cubic":
            raise ValueError(f"a {system} lattice ({space_group_symbol}) needs c")
        c = a
    if system in ("hexagonal", "trigonal") and gamma == 90.0:
        gamma = 120.0
    lattice = Lattice.from_parameters(a, b, c, alpha, beta, gamma)
    if not group.is_compatible(lattice):
        raise ValueError(f"lattice a={a}, b={b}, c={c} is not compatible with {space_group_symbol}")
    return lattice


def parse_sites(sites: str) -> tuple[list[str], list[list[float]]]:
    """'Mg 0 0 0; O 0.5 0.5 0.5' -> (['Mg', 'O'], [[0, 0, 0], [0.5, 0.5, 0.5]])."""
    species, coords = [], []
    for entry in filter(None, (s.strip() for s in sites.split(";"))):
        el, *xyz = entry.split()
        species.append(el)
        coords.append([float(x) for x in xyz])
    return species, coords


def build_structure(symbol: str, lattice, sites: str):
    """A prototype Structure: the stored asymmetric-unit sites expanded by the space group."""
    from pymatgen.core import Structure

    species, coords = parse_sites(sites)
    space_group(symbol)  # pymatgen's own cache now holds it
    return Structure.from_spacegroup(symbol, lattice, species, coords)


def misfit(substrate_a: float, film_a: float) -> tuple[float, int]:
    """Engineering misfit (n*a_sub - a_film)/a_film with n = the commensurate multiple closest to 1.

    Perovskite and rock-salt cells (a ~ 4 A) match one third of a garnet cell (a ~ 13 A),
    so n = 3 for them and n = 1 for garnet substrates such as GGG.
    """
    n = max(1, round(film_a / substrate_a))
    return (n * substrate_a - film_a) / film_a, n


@dataclass(frozen=True)
class InterfaceStrain:
    """The smallest-strain coincidence-lattice match found by pymatgen's SubstrateAnalyzer."""

    film_miller: str
    match_area_angstrom2: float
    von_mises_strain: float
    strain_xx: float
    strain_yy: float
    strain_xy: float


def miller_tuple(orientation: str) -> tuple[int, int, int]:
    """'100' -> (1, 0, 0); '-111' -> (-1, 1, 1)."""
    import re

    digits = [int(d) for d in re.findall(r"-?\d", orientation)]
    if len(digits) != 3:
        raise ValueError(f"not a Miller index: {orientation}")
    return tuple(digits)


def interface_strain(film, substrate, orientation: str) -> InterfaceStrain | None:
    """Green-Lagrange strain of the film on substrate(orientation), film plane = same index.

    Cube-on-cube growth is assumed (film (hkl) || substrate (hkl)), as reported for the
    epitaxial garnet films in the seed data. Returns None when no match lies within ZSL_SETTINGS.
    A search is a function of the two structures, the orientation, ZSL_SETTINGS and pymatgen's version,
    so its answer is kept on disk under that key (:func:`_remembered`): `init` and `refresh` search once
    per machine instead of once per build (about 6 s of pymatgen's ~11 s for the curated build).
    """
    return _remembered(_search_key(film, substrate, orientation), lambda: _search(film, substrate, orientation))


def _search(film, substrate, orientation: str) -> InterfaceStrain | None:
    """The ZSL search itself (pymatgen's SubstrateAnalyzer)."""
    from pymatgen.analysis.interfaces.substrate_analyzer import SubstrateAnalyzer

    miller = miller_tuple(orientation)
    _zsl_in_python()
    analyzer = SubstrateAnalyzer(film_max_miller=1, substrate_max_miller=1, **ZSL_SETTINGS)
    matches = list(analyzer.calculate(film, substrate, film_millers=[miller], substrate_millers=[miller]))
    if not matches:
        return None
    best = min(matches, key=lambda m: (round(m.von_mises_strain, 6), m.match_area))
    e = best.strain
    return InterfaceStrain(
        film_miller="".join(str(i) for i in best.film_miller),
        match_area_angstrom2=float(best.match_area),
        von_mises_strain=float(best.von_mises_strain),
        strain_xx=float(e[0][0]),
        strain_yy=float(e[1][1]),
        strain_xy=float(e[0][1]),
    )


def _search_key(film, substrate, orientation: str) -> str:
    """A digest of everything a search reads: both structures, the orientation, the limits, pymatgen's version."""
    import hashlib
    import json

    import pymatgen.core

    what = [_canonical(film), _canonical(substrate), miller_tuple(orientation), ZSL_SETTINGS, pymatgen.core.__version__]
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


def _canonical(structure) -> list:
    """A structure as plain values independent of site order: lattice lengths and angles, and the sorted
    (species, fractional coordinates) of its sites, rounded below any difference a search could see."""
    lattice = [round(float(v), 8) for v in (*structure.lattice.abc, *structure.lattice.angles)]
    sites = sorted((str(site.species), *(round(float(x) % 1.0, 6) % 1.0 for x in site.frac_coords)) for site in structure)
    return [lattice, sites]


def _remembered(key: str, search) -> InterfaceStrain | None:
    """search()'s answer, read from <user cache dir>/filmkb/interfaces/<key>.json when an earlier search
    wrote it (written whole by rename; a file that does not read back as one answer is searched again).
    FILMKB_INTERFACE_CACHE=0 turns it off."""
    import json
    import os
    import tempfile

    if os.environ.get("FILMKB_INTERFACE_CACHE", "1") == "0":
        return search()
    from platformdirs import user_cache_dir

    folder = os.path.join(user_cache_dir("filmkb", appauthor=False), "interfaces")
    path = os.path.join(folder, f"{key}.json")
    try:
        with open(path) as fh:
            stored = json.load(fh)
        return None if stored is None else InterfaceStrain(**stored)
    except (OSError, ValueError, TypeError):
        pass
    answer = search()
    try:
        os.makedirs(folder, exist_ok=True)
        fd, scratch = tempfile.mkstemp(dir=folder, suffix=".writing")
        with os.fdopen(fd, "w") as fh:
            json.dump(None if answer is None else answer.__dict__, fh)
        os.replace(scratch, path)
    except OSError:  # a cache that cannot be written only costs the next build the search
        pass
    return answer


GARNET_HOST = frozenset({"Li", "La", "Zr", "O"})  # elements of Li7La3Zr2O12; anything else is a dopant


def composition_features(formula: str) -> dict:
    """Per 12 oxygen (one garnet formula unit): Li, each of Ta/Al/Ga, and all dopants together
    (elements other than Li, La, Zr, O), plus the dopant elements as text. From pymatgen."""
    from pymatgen.core import Composition

    comp = Composition(formula)
    scale = 12.0 / comp["O"] if comp["O"] > 0 else 1.0
    dopants = sorted(el.symbol for el in comp.elements if el.symbol not in GARNET_HOST)
    return {"li_per_o12": float(comp["Li"]) * scale,
            "dopant_elements": ",".join(dopants) or None,
            "dopant_per_o12": float(sum(comp[d] for d in dopants)) * scale,
            "ta_per_o12": float(comp["Ta"]) * scale, "al_per_o12": float(comp["Al"]) * scale,
            "ga_per_o12": float(comp["Ga"]) * scale}
