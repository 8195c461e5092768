"""Logging for the teacher-facing paths (batch, the warm server, grader faults): off by
default; `grade -v …` (info) or `-vv` (debug), or GRADER_LOG=info|debug, shows it on
stderr. Processes the grader starts read GRADER_LOG, so they log alike."""

from __future__ import annotations

import logging
import os

from grader import settings

FORMAT = "grade %(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"


def level() -> str:
    """GRADER_LOG's level: off, warning, info or debug."""
    return settings.choice("GRADER_LOG", settings.LOG_LEVELS, "off")


def configure(verbosity: int | None = None) -> None:
    """Show the grader's log at `verbosity` (1 info, 2+ debug), else at GRADER_LOG's level;
    the chosen level is put in GRADER_LOG for the processes started from here."""
    if verbosity:
        os.environ["GRADER_LOG"] = "info" if verbosity == 1 else "debug"
    chosen = level()
    root = logging.getLogger("grader")
    for handler in [h for h in root.handlers if getattr(h, "grader_log", False)]:
        root.removeHandler(handler)
    if chosen == "off":
        return
    handler = logging.StreamHandler()
    handler.grader_log = True
    handler.setFormatter(logging.Formatter(FORMAT, "%H:%M:%S"))
    root.addHandler(handler)
    root.setLevel(chosen.upper())
