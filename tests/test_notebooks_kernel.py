"""In-notebook grading with a real kernel: a notebook from `grade notebook exercise03`,
its code cell filled in, executed by nbclient down to its grading cell (`%grade`)."""

import subprocess
import sys

import nbformat
import pytest
from click.testing import CliRunner

from grader import catalog
from grader.cli import main

pytest.importorskip("ipykernel")
nbclient = pytest.importorskip("nbclient")

EX = catalog.get("exercise03")
KERNEL = "grader-test-kernel"


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory):
    """A kernel spec for this Python, installed into a temporary folder (found through
    JUPYTER_PATH), so the tests need no user-wide Jupyter set-up."""
    prefix = tmp_path_factory.mktemp("jupyter")
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--prefix", str(prefix),
                    "--name", KERNEL], check=True, capture_output=True)
    return prefix / "share" / "jupyter"


@pytest.fixture
def run_notebook(kernel_dir, tmp_path, monkeypatch):
    """run_notebook(code, *extra_cells) -> the grading cell's outputs, after writing the
    notebook with `grade notebook`, putting `code` in its stub's cell and `extra_cells`
    after it, and running every cell in a fresh kernel (errors allowed, as a student's
    "run all" that goes on)."""
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_dir))
    monkeypatch.setenv("GRADER_SERVER", "off")
    monkeypatch.chdir(tmp_path)

    def run(code: str | None, *extra_cells: str):
        result = CliRunner().invoke(main, ["notebook", "exercise03"])
        assert result.exit_code == 0, result.output
        nb = nbformat.read("training_loop.ipynb", as_version=4)
        stub = next(c for c in nb.cells if c.cell_type == "code" and "def train_step" in c.source)
        if code is not None:
            stub.source = code
        index = nb.cells.index(stub) + 1
        nb.cells[index:index] = [nbformat.v4.new_code_cell(extra) for extra in extra_cells]
        assert nb.cells[-1].source == "%load_ext grader\n%grade exercise03"
        nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=600, allow_errors=True,
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
        return nb.cells[-1].outputs

    return run


def _shown(outputs) -> tuple[str, str]:
    """(text/plain, text/html) of the grading cell's result; it must not have raised."""
    assert [o.output_type for o in outputs] == ["execute_result"], outputs
    return outputs[0].data["text/plain"], outputs[0].data["text/html"]


def test_reference_code_gets_full_marks(run_notebook):
    """Full marks, also after an experiment cell that raised (experiments are not graded)."""
    text, html = _shown(run_notebook(EX.solution_path.read_text(),
                                     "train_step(None, None, None, None)  # an experiment that raises"))
    assert "score: 17/17 (100%)" in text, text
    assert html.lstrip().startswith('<div class="grader-scorecard"')
    assert "Score 17/17 (100%)" in html


def test_a_realistic_mistake_is_named(run_notebook):
    mistake = EX.solution_path.parent / "mistakes" / "no_zero_grad.py"
    text, html = _shown(run_notebook(mistake.read_text()))
    assert "score: 17/17" not in text
    assert "never cleared" in text and "never cleared" in html, text
    assert html.count("FAIL</td>") == 2  # train_step_gradients and train_epoch_values, as rows


def test_an_import_that_raised_in_an_earlier_cell_is_reported_clearly(run_notebook):
    text, html = _shown(run_notebook(EX.solution_path.read_text(), "import helpers_nobody_installed"))
    assert "problem: importing notebook.ipynb failed: ModuleNotFoundError: No module named " \
           "'helpers_nobody_installed'" in " ".join(text.split()), text
    assert "Traceback" not in text and "score: 0/17" in text
    assert "helpers_nobody_installed" in html


def test_the_untouched_stub_scores_zero_without_a_traceback(run_notebook):
    text, html = _shown(run_notebook(None))
    assert "score: 0/17 (0%)" in text and "Score 0/17 (0%)" in html
    assert "`train_step` is not implemented yet" in text
    assert "Traceback" not in text
