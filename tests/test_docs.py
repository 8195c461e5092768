"""The docs point only at what exists: every Markdown file and repository path that the
README, CONTRIBUTING and the package's docstrings name is in the repository."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRITTEN = {"benchmarks/results.json"}  # what benchmarks/run.py writes
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "grader").rglob("*.py"))]


def _named(pattern: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for doc in DOCS:
        for name in re.findall(pattern, doc.read_text(encoding="utf-8")):
            found.setdefault(name, []).append(doc.relative_to(ROOT).as_posix())
    return found


def test_markdown_files_named_exist():
    names = _named(r"\b([A-Z][A-Z_]+\.md)\b")
    missing = {n: where for n, where in names.items() if not list(ROOT.glob(f"**/{n}"))}
    assert not missing, missing


def test_repository_paths_named_exist():
    paths = _named(r"`((?:grader|tests|benchmarks|exercises|solutions)/[\w./-]+\.(?:py|md|json|toml))`")
    missing = {p: where for p, where in paths.items() if "NN" not in p and "<" not in p
               and p not in WRITTEN and not (ROOT / p).exists()}
    assert not missing, missing
