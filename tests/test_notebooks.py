"""Notebooks without a kernel: `grade notebook`, cell extraction's messages, the HTML card,
and the `%grade` extension's pieces (the kernel tests are in test_notebooks_kernel.py)."""

import subprocess
import sys

import nbformat
from click.testing import CliRunner

from grader import catalog, notebook_magic, notebooks
from grader.cli import main
from grader.render import html_card
from grader.scorecard import CheckResult, Scorecard
from grader.submission import prepare

EX = catalog.get("exercise03")


def test_grade_notebook_starts_from_the_stub_and_never_overwrites(tmp_path, monkeypatch):
    own = tmp_path / "exercises" / EX.id / EX.filename  # the student's half-done copy
    own.parent.mkdir(parents=True)
    own.write_text("def train_step(model, batch, loss_fn, optimizer):\n    return 1.0  # my work\n")
    monkeypatch.chdir(tmp_path)
    first = CliRunner().invoke(main, ["notebook", "exercise03"])
    assert first.exit_code == 0, first.output
    assert "write your code in it, then run its last cell" in first.stdout
    written = (tmp_path / "training_loop.ipynb").read_text()
    nb = nbformat.reads(written, as_version=4)
    assert any(c.source == EX.stub_path.read_text() for c in nb.cells)
    assert "my work" not in written
    assert nb.cells[-1].cell_type == "code" and nb.cells[-1].source == "%load_ext grader\n%grade exercise03"

    (tmp_path / "training_loop.ipynb").write_text("my notebook")
    again = CliRunner().invoke(main, ["notebook", "exercise03"])
    assert again.exit_code == 2 and again.stderr.count("\n") == 1
    assert "already exists" in again.stderr and "--force" in again.stderr
    assert (tmp_path / "training_loop.ipynb").read_text() == "my notebook"
    forced = CliRunner().invoke(main, ["notebook", "exercise03", "--force"])
    assert forced.exit_code == 0
    replaced = nbformat.read(str(tmp_path / "training_loop.ipynb"), as_version=4)
    assert [c.source for c in replaced.cells] == [c.source for c in nb.cells]


def test_a_cells_syntax_error_names_the_cell_and_shows_a_caret(tmp_path):
    bad = nbformat.v4.new_code_cell("import torch\ndef train_step(model, batch)\n    pass")
    bad.execution_count = 5
    path = tmp_path / "work.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), bad]), str(path))
    sub = prepare(EX, path, tmp_path)
    assert sub.problem == "work.ipynb: cell In [5] has a syntax error at line 2: expected ':'"
    assert sub.detail == "    def train_step(model, batch)\n                                ^"


def test_kernel_history_cells_that_do_not_parse_are_left_out_with_a_note():
    kept, notes = notebook_magic.runnable([(1, "import torch"), (2, "def f(:\n  pass"), (3, "x = 1")])
    assert kept == [(1, "import torch"), (3, "x = 1")]
    assert notes == ["In [2] was left out: it has a syntax error at line 1 (Python ran none of it "
                     "either); fix it and run it again"]


def test_grade_outside_a_notebook_says_how_to_grade_instead():
    shown = notebook_magic.grade("exercise03")
    assert shown.card is None and "grade exercise03 FILE" in repr(shown)


def test_importing_grader_loads_neither_ipython_nor_torch():
    code = ("import sys, grader; assert callable(grader.load_ipython_extension); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'IPython', 'torch', 'nbformat'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _card() -> Scorecard:
    checks = [CheckResult("a", "train_step <b>steps</b>", "values", 2.0, "failed",
                          "it returned <script>alert(1)</script>", "expected: 1\nactual: <2>"),
              CheckResult("b", "evaluate", "modes", 1.0, "passed"),
              *(CheckResult(f"c{i}", f"check {i}", "values", 1.0, "error",
                            "`train_epoch` is not implemented yet") for i in range(3))]
    return Scorecard("exercise03_training_loop", "The training loop", "nb.ipynb", checks, "0.1.0",
                     notes=["ran <unsandboxed>"])


def test_html_card_puts_the_score_first_and_escapes_everything():
    page = html_card.render(_card())
    assert "<script>" not in page and "<b>" not in page and "<unsandboxed>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "actual: &lt;2&gt;" in page
    assert page.index("Score 1/6 (17%)") < page.index("<table")
    assert page.count("`train_epoch` is not implemented yet") == 1 + 3  # the cause, folded rows
    assert "→ 3 checks (3 points) wait on it</summary>" in page
    assert "<details><summary" in page and "expected: 1" in page


def test_the_magic_is_registered_by_load_ext():
    registered = {}

    class Shell:
        def register_magic_function(self, fn, kind, name):
            registered[name] = (fn, kind)

    import grader

    grader.load_ipython_extension(Shell())
    fn, kind = registered["grade"]
    assert kind == "line" and "usage: %grade exercise03" in repr(fn("two words"))


def test_build_ends_with_the_grading_cell():
    nb = notebooks.build(EX)
    assert nb.cells[-1].source == notebooks.grading_cell(EX) == "%load_ext grader\n%grade exercise03"


def test_messages_point_into_the_notebooks_cells(grade_source):
    ex = catalog.get("exercise01")
    cells = [nbformat.v4.new_code_cell("%matplotlib inline\nimport torch"),
             nbformat.v4.new_code_cell(ex.solution_path.read_text().replace(
                 "    return grad.detach()", "    return grad.detach() + torch.ones(3, 3)"))]
    cells[1].execution_count = 4
    card = grade_source(ex.id, nbformat.writes(nbformat.v4.new_notebook(cells=cells)), filename="work.ipynb")
    raised = [c for c in card.checks if c.status == "error"]
    assert raised and all(c.message.endswith("(work.ipynb, In [4], line 10)") for c in raised)
    assert 'File "work.ipynb, In [4]", line 10, in gradient\n    return grad.detach()' in raised[0].output
