"""The one error type for input the user must fix: the CLI prints it as `grade: <message>`
on one line and exits with status 2 (usage). Each module's own kind subclasses it."""


class BadInput(ValueError):
    """What the user gave cannot be used (a path, an option, a course folder, a setting)."""
