"""An auto-grader for PyTorch courses: hidden pytest suites, untrusted code in forked workers."""

__version__ = "0.1.0"
