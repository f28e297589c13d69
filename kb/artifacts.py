"""The files of trained runs, stored with the run (mixed into `KnowledgeBase`): table ``run_artifacts``.

A run's folder (weights, scalers, manifest, Keras exports) is written into the knowledge base in the same
transaction as the run record, so a model trained on one machine can be used from every machine connected
to the same knowledge base. The bytes are checked by the caller against the run's manifest hash before use.
"""

from __future__ import annotations

import hashlib

__all__ = ["Artifacts"]


class Artifacts:
    """Stored files of model runs."""

    def store_artifacts(self, run_id: str, files) -> int:
        """Store `files`, (name, bytes) pairs of one run's folder, with each file's SHA-256 and size."""
        self._require_writing()
        rows = [(run_id, name, hashlib.sha256(data).hexdigest(), len(data), bytes(data)) for name, data in files]
        for row in rows:  # a few files of a few MB each: one statement a file keeps memory at one file
            self.con.execute("INSERT INTO run_artifacts (run_id, name, sha256, size, content) VALUES (?, ?, ?, ?, ?)",
                             list(row))
        return len(rows)

    def artifact_names(self, run_id: str) -> list[tuple[str, str, int]]:
        """(name, sha256, size) of every stored file of a run, by name (empty for a run stored without them)."""
        return [(n, s, int(z)) for n, s, z in self._rows(
            "SELECT name, sha256, size FROM run_artifacts WHERE run_id = ? ORDER BY name", [run_id])]

    def artifact(self, run_id: str, name: str) -> bytes | None:
        """The stored bytes of one file of a run (None if it is not stored)."""
        rows = self._rows("SELECT content FROM run_artifacts WHERE run_id = ? AND name = ?", [run_id, name])
        return bytes(rows[0][0]) if rows else None
