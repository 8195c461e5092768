"""pyflakes' rules (through ruff, which honours `# noqa`) over the code: unused imports and
variables, undefined names, f-strings without placeholders; and vulture's dead code
(functions, classes, methods, attributes, variables nothing uses) in the grader; and the
import order a cold `grade` depends on."""

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


def test_the_worker_starts_before_this_process_imports_torch():
    """A cold `grade` overlaps the two torch imports (this process's and the zygote's) only if
    what runs before `GradingSession` spawns the zygote imports neither torch nor pytest."""
    code = ("import sys, grader.cli, grader.session\n"
            "print(sorted(m for m in ('torch', 'pytest', 'nbformat') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
