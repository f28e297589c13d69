"""The substrate property sets the descriptors can be computed with (`--properties paper|checked`).

paper:   Table 2 of the seed paper as published (data/substrate_properties.csv), loaded into the knowledge
         base: the default, so the paper's models and numbers are reproduced unchanged.
checked: the same properties checked against the literature, each value with its source and a note where it
         differs from Table 2 (data/substrate_properties_checked.csv). A substrate the file does not name (one
         a user added with `filmkb add-substrate`) keeps its own stored values in both sets.
"""

from __future__ import annotations

PAPER = "paper"
CHECKED = "checked"
PROPERTY_SETS = (PAPER, CHECKED)
DEFAULT_PROPERTIES = PAPER
CONFIG_KEY = "substrate_properties"  # the run-config key that records the set a run used
