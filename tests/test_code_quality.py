"""pyflakes' rules (through ruff, which honours `# noqa`) over the code: unused imports and
variables, undefined names, f-strings without placeholders."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_pyflakes_findings():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is part of the dev extra: pip install -e '.[dev]'"
    proc = subprocess.run([ruff, "check", "--select", "F", "--no-cache", "--output-format", "concise",
                           "grader", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
