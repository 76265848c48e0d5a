"""Errors that stop an import. Each names the file (and layer, row, field where it can)."""

from __future__ import annotations

from apps.core.exceptions import DomainError


class ImportFileError(DomainError):
    """The file as a whole cannot be loaded: unknown format, no CRS, unreadable, wrong kind."""

    code = "import_failed"

    def __init__(self, path_name: str, message: str) -> None:
        super().__init__(f"{path_name}: {message}")
        self.path_name = path_name
