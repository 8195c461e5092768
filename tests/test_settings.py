"""GRADER_* settings: read in one place, a value the grader cannot use refused in one line."""

import pytest
from click.testing import CliRunner

from grader import catalog, settings
from grader.cli import main


@pytest.mark.parametrize("value, want", [("on", True), ("YES", True), (" 1 ", True), ("off", False),
                                         ("False", False), ("0", False), ("", None), ("auto", None)])
def test_switch_reads_on_off_and_auto(monkeypatch, value, want):
    monkeypatch.setenv("GRADER_SERVER", value)
    assert settings.switch("GRADER_SERVER") is want


def test_unset_switch_is_auto(monkeypatch):
    monkeypatch.delenv("GRADER_SANDBOX", raising=False)
    assert settings.switch("GRADER_SANDBOX") is None


@pytest.mark.parametrize("name, value", [("GRADER_SANDBOX", "maybe"), ("GRADER_REFERENCES", "packs"),
                                         ("GRADER_SALT", "pepper")])
def test_a_bad_setting_is_one_line_and_exit_2(monkeypatch, name, value):
    from grader.worker import sandbox

    sandbox.available.cache_clear()
    monkeypatch.setenv(name, value)
    ex = catalog.get("exercise01")
    try:
        result = CliRunner().invoke(main, [ex.short_id, str(ex.stub_path)])
    finally:
        sandbox.available.cache_clear()
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"grade: {name}=")
    assert "Traceback" not in result.output


def test_every_setting_read_is_described():
    """Each GRADER_* variable the package reads has a line in settings.DESCRIPTIONS."""
    import re
    from pathlib import Path

    read = set()
    for path in Path(settings.__file__).parent.rglob("*.py"):
        read |= set(re.findall(r'"(GRADER_[A-Z_]+)"', path.read_text()))
    assert read <= set(settings.DESCRIPTIONS) | {"GRADER_SALT_ALL"}, read - set(settings.DESCRIPTIONS)


def test_the_readme_lists_every_setting():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("## Settings\n", 1)[1].split("\n## ", 1)[0]
    assert [name for name in settings.DESCRIPTIONS if f"| `{name}` |" not in section] == []


def test_doctor_shows_the_settings_in_use(monkeypatch):
    from grader import doctor

    monkeypatch.setenv("GRADER_SERVER", "off")
    rows = {item: detail for item, _, detail in doctor.report() if item in ("settings", "environment")}
    assert "GRADER_SERVER=off" in rows["settings"]
    assert "LC_ALL" in rows["environment"]
