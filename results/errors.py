"""Errors of publishing.

    ResultsError
    └── SiteRefused      the output folder holds files that are not an earlier RetroTime site

`web/` maps them to exit codes once, in the CLI.
"""

from __future__ import annotations


class ResultsError(Exception):
    """Root of the errors raised by `results/`."""


class SiteRefused(ResultsError):
    """Publishing would overwrite a folder RetroTime did not write (use --force)."""
