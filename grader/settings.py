"""The grader's settings: GRADER_* environment variables, each read here and only here.

An on/off/auto setting accepts 1/on/yes/true and 0/off/no/false (any case); anything
else is refused in one line rather than silently read as `auto`.
"""

from __future__ import annotations

import os
from pathlib import Path

from grader.errors import BadInput

ON = ("1", "on", "yes", "true")
OFF = ("0", "off", "no", "false")

DESCRIPTIONS = {
    "GRADER_SANDBOX": "auto or off: run workers under bubblewrap where it works (off: never)",
    "GRADER_SERVER": "auto, on or off: keep a warm grading server between runs (auto: at a terminal, not in CI)",
    "GRADER_REFERENCES": "auto, live or pack: reference results from the solutions or from the packs",
    "GRADER_SALT": "an integer, or random: salt every probe's seeds (0: the packs' inputs)",
    "GRADER_SOLUTIONS": "the folder of reference solutions (default: the checkout's solutions/)",
    "GRADER_COURSE": "a teacher's course folder (default: the nearest course.toml upwards)",
    "GRADER_CACHE_DIR": "where live reference results are cached (default: ~/.cache/pytorch-grader)",
    "GRADER_LOG": "off, warning, info or debug: the grader's log on stderr (grade -v: info, -vv: debug)",
    "GRADER_RUNTIME_DIR": "where the warm server's socket lives (default: $XDG_RUNTIME_DIR or the temp dir)",
}


SWITCHES = ("GRADER_SANDBOX", "GRADER_SERVER")
REFERENCE_SOURCES = ("auto", "live", "pack")
LOG_LEVELS = ("off", "warning", "info", "debug")


class SettingError(BadInput):
    """A GRADER_* variable holds a value the grader cannot use."""


def check_all() -> None:
    """Refuse a bad on/off/auto or choice setting now, before any grading reads it."""
    for name in SWITCHES:
        switch(name)
    choice("GRADER_REFERENCES", REFERENCE_SOURCES, "auto")
    choice("GRADER_LOG", LOG_LEVELS, "off")
    salt = raw("GRADER_SALT").lower()
    if salt not in ("", "random") and not salt.lstrip("-").isdigit():
        raise SettingError(f"GRADER_SALT={salt!r} is not an integer (or random, for a fresh one)")


def raw(name: str) -> str:
    """The variable's value, stripped ('' when unset)."""
    return os.environ.get(name, "").strip()


def switch(name: str) -> bool | None:
    """An on/off/auto setting: True, False, or None for auto (also when unset)."""
    value = raw(name).lower()
    if value in ON:
        return True
    if value in OFF:
        return False
    if value in ("", "auto"):
        return None
    raise SettingError(f"{name}={value!r}; use on, off or auto")


def choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """One of `choices` (any case); `default` when unset."""
    value = raw(name).lower() or default
    if value not in choices:
        raise SettingError(f"{name}={value!r}; use one of {', '.join(choices)}")
    return value


def path(name: str, default: Path) -> Path:
    """A folder or file setting; `default` when unset."""
    value = raw(name)
    return Path(value).expanduser() if value else default
