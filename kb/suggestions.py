"""Stored suggestions (mixed into `KnowledgeBase`): the candidates `filmkb suggest` listed, each with the
suggest run that listed it and the train run whose model predicted it.

    with k.transaction():
        k.store_run(run_id, "suggest", config, data_hash, n_films, metrics)
        k.store_suggestions(run_id, model_run_id, frame)
"""

from __future__ import annotations

import pandas as pd

from ..errors import FilmkbError
from .db import now

__all__ = ["Suggestions", "SUGGESTION_COLUMNS"]

# The columns a caller gives per suggestion (the table's others: id, run ids and created_at, are set here).
SUGGESTION_COLUMNS = ("rank", "in_domain", "goal", "score", "substrate", "substrate_orientation", "method",
                      "composition", "phase", "deposition_temp_c", "thickness_nm", "measurement_temp_c",
                      "neg_log10_sigma_mean", "neg_log10_sigma_std", "sigma_low_s_cm", "sigma_high_s_cm",
                      "domain_distance", "domain_threshold", "out_of_range")


class Suggestions:
    """Writes and reads of the suggestions table."""

    def store_suggestions(self, run_id: str, model_run_id: str, frame: pd.DataFrame) -> int:
        """Bulk-insert the listed candidates of one suggest run (columns SUGGESTION_COLUMNS)."""
        rows = frame[list(SUGGESTION_COLUMNS)].copy()
        rows.insert(0, "model_run_id", model_run_id)
        rows.insert(0, "run_id", run_id)
        rows["created_at"] = now()
        self.insert_frame("suggestions", rows)
        return len(rows)

    def suggestions(self, run_id: str | None = None) -> pd.DataFrame:
        """The stored suggestions of one suggest run (default: the latest), in domain first, by rank."""
        if not run_id:
            latest = self._rows("SELECT id FROM model_runs WHERE kind = 'suggest' ORDER BY created_at DESC, id DESC "
                                "LIMIT 1")
            if not latest:
                raise FilmkbError(f"{self.path}: no stored suggestions yet; run `filmkb suggest` first")
            run_id = latest[0][0]
        rows = self.sql("SELECT * FROM suggestions WHERE run_id = ? ORDER BY in_domain DESC, rank",
                        [run_id]).drop(columns="id")
        if rows.empty:
            raise FilmkbError(f"{self.path}: no suggestions stored with run '{run_id}'; see "
                              "`filmkb query \"SELECT id, created_at FROM model_runs WHERE kind = 'suggest'\"`")
        return rows
