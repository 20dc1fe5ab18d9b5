"""User-facing errors: each names the problem and the fix.

The CLI turns every `DiffrnnError` into one line on stderr and exit code 2; library callers catch
the typed subclasses.
"""

from __future__ import annotations


class DiffrnnError(Exception):
    """A problem the user can fix: `problem` says what is wrong, `fix` what to do about it."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} Fix: {fix}" if fix else problem)


class DataError(DiffrnnError, ValueError):
    """Input data is missing, malformed or unsuitable (bad CSV, NaNs, too short a series...)."""


class ChecksumError(DataError):
    """A vendored data file is missing or its sha256 differs from the registry's."""


class ConfigError(DiffrnnError, ValueError):
    """An unknown name (dataset, task, model) or an invalid option value."""


class CheckpointError(DataError):
    """A saved model or checkpoint cannot be read (missing, truncated, corrupt, non-finite)."""


class UnsafeFileError(CheckpointError):
    """A pickle-based file was offered where only safetensors/JSON are accepted."""


class StorageError(DiffrnnError):
    """A file could not be written whole: the disk is full, a quota or file-size limit was hit.
    What was there before is kept (atomic writes) or restored (appends)."""


class TrainingDivergedError(DiffrnnError):
    """Training produced a non-finite loss or gradient."""
