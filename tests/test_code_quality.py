"""pyflakes' rules (through ruff, which honours `# noqa`) over the code: unused imports and
variables, undefined names, f-strings without placeholders; and vulture's dead code
(functions, classes, methods, attributes, variables nothing uses) in the grader."""

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


def test_no_dead_code_in_the_grader():
    """vulture over grader/ with the suites (so what only they use counts as used) and
    tests/vulture_whitelist.py (names used by name from outside: click commands, pytest
    hooks, protocol methods); findings in the suites are theirs to keep (hidden tests and
    probes are found by name)."""
    vulture = shutil.which("vulture", path=str(Path(sys.executable).parent)) or shutil.which("vulture")
    assert vulture, "vulture is part of the dev extra: pip install -e '.[dev]'"
    proc = subprocess.run([vulture, "grader", "tests/vulture_whitelist.py"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr  # 3: it found dead code
    lines = proc.stdout.splitlines()
    assert any(line.startswith("grader/suites/") for line in lines), "vulture did not read the suites"
    dead = [line for line in lines if not line.startswith(("grader/suites/", "grader/packs/"))]
    assert not dead, "\n".join(dead)
