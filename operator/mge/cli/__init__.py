"""The `mge` command line. Each command group lives in its own module and registers here."""

from __future__ import annotations

from mge.cli.app import app, main

__all__ = ["app", "main"]
