"""An auto-grader for PyTorch courses: hidden pytest suites, untrusted code in forked workers."""

import logging

__version__ = "0.1.0"

logging.getLogger("grader").addHandler(logging.NullHandler())  # silent unless logs.configure()


def load_ipython_extension(ipython) -> None:
    """`%load_ext grader` in a notebook: adds `%grade exerciseNN` (see grader.notebook_magic)."""
    from grader.notebook_magic import load_ipython_extension as load

    load(ipython)
