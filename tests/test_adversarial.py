"""Submissions that attack the grader get nothing for what they block; grading goes on.

Attacks that either mode must stop run with and without the bubblewrap sandbox; those
only the sandbox can stop (reading the reference, signalling every process) run in it.
"""

import json
import os
import time
from pathlib import Path

import pytest

from grader import catalog
from grader.grading import grade
from grader.worker import sandbox
from grader.worker.client import Zygote
from grader.worker.limits import Limits
from tests.harness import assert_full_marks, failures, mutate, reference_source

EX = "exercise01_autograd"
REF = reference_source(EX)
QUICK = Limits(probe_seconds=2, submission_seconds=20)
FIT_LINE_CHECKS = {"fit_line_returns", "fit_line_values", "fit_line_defaults", "fit_line_learns"}
FIT_LINE_BODY = "    w = torch.zeros((), requires_grad=True)\n"
needs_bwrap = pytest.mark.skipif(not sandbox.available(), reason="bubblewrap not usable here")
MODES = [False, pytest.param(True, marks=needs_bwrap)]


@pytest.fixture(scope="module", params=MODES, ids=["plain", "sandboxed"])
def any_zygote(request):
    with Zygote(sandboxed=request.param) as z:
        yield z


@pytest.fixture(scope="module")
def sandboxed_zygote():
    if not sandbox.available():
        pytest.skip("bubblewrap not usable here")
    with Zygote(sandboxed=True) as z:
        yield z


def _grade(zygote, tmp_path, source, limits=QUICK):
    path = tmp_path / "autograd_basics.py"
    path.write_text(source)
    return grade(catalog.get(EX), path, zygote=zygote, limits=limits)


def _in_fit_line(code: str) -> str:
    return mutate(REF, (FIT_LINE_BODY, code + FIT_LINE_BODY))


@pytest.mark.parametrize("attack, status", [
    ("import os; os._exit(0)", "error"),
    ("import sys; sys.exit(0)", "error"),
    ("raise KeyboardInterrupt", "error"),
    ("while True: pass", "timeout"),
    ("import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)\n    while True: pass", "timeout"),
    ("import os, signal; os.kill(os.getppid(), signal.SIGKILL); os._exit(0)", "error"),
    ("big = bytearray(1 << 36)", "error"),
    ("big = torch.zeros(1 << 34)", "error"),
    ("while True: print('x' * 10000)", "error"),
], ids=["os-exit", "sys-exit", "keyboard-interrupt", "endless-loop", "ignore-sigterm",
        "kill-parent", "memory", "memory-torch", "flood-output"])
def test_attack_in_a_function_costs_only_that_function(any_zygote, tmp_path, attack, status):
    card = _grade(any_zygote, tmp_path, _in_fit_line("    " + attack + "\n"))
    assert set(failures(card)) == FIT_LINE_CHECKS
    checks = [c for c in card.checks if c.id in FIT_LINE_CHECKS]
    if status == "timeout":  # one check waits for the hung fit_line; the others skip it
        assert sorted(c.status for c in checks) == ["not-run"] * (len(checks) - 1) + ["timeout"]
        assert all(c.message.startswith("`fit_line` did not return within 2 s") for c in checks)
    else:
        assert {c.status for c in checks} == {status}
    assert all(len(c.output) < 100_000 for c in checks)


@pytest.mark.parametrize("attack", ["import os; os._exit(1)", "raise KeyboardInterrupt",
                                    "import time; time.sleep(60)"])
def test_attack_at_import_blocks_everything_but_finishes(any_zygote, tmp_path, attack):
    start = time.monotonic()
    card = _grade(any_zygote, tmp_path, attack + "\n" + REF)
    assert card.score == 0 and card.problem and "\n" not in card.problem
    assert time.monotonic() - start < 10


def test_orphans_and_setsid_daemons_are_killed(any_zygote, tmp_path):
    marker = f"{os.getpid()}.{time.monotonic_ns() % 10**6}"
    attack = (f"import subprocess; subprocess.Popen(['sleep', '{marker}'], start_new_session=True)\n"
              f"    import os\n    if os.fork() == 0:\n        os.setsid(); os.execvp('sleep', ['sleep', '{marker}1'])\n")
    _grade(any_zygote, tmp_path, _in_fit_line("    " + attack))
    time.sleep(0.2)
    alive = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
        except OSError:
            continue
        if marker.encode() in cmdline:
            alive.append(cmdline)
    assert not alive


def test_fork_bomb_is_contained(sandboxed_zygote, tmp_path):
    card = _grade(sandboxed_zygote, tmp_path, _in_fit_line(
        "    import os\n    while True:\n        try: os.fork()\n        except OSError: pass\n"))
    assert set(failures(card)) == FIT_LINE_CHECKS


def test_patching_torch_pytest_builtins_and_grader_forges_nothing(any_zygote, tmp_path):
    wrong = mutate(REF, ("    return grad.detach()", "    return 2 * grad.detach()"))
    patch = ("import builtins, torch, torch.testing, pytest, grader.checks, grader.worker.wire\n"
             "torch.allclose = lambda *a, **k: True\n"
             "torch.equal = lambda *a, **k: True\n"
             "torch.testing.assert_close = lambda *a, **k: None\n"
             "pytest.fail = lambda *a, **k: None\n"
             "grader.checks.close = lambda *a, **k: True\n"
             "grader.checks.expect_close = lambda *a, **k: None\n"
             "builtins.isinstance = lambda *a: True\n")
    card = _grade(any_zygote, tmp_path, patch + wrong)
    assert "gradient_values" in failures(card)


def test_global_torch_state_does_not_leak_into_later_probes(any_zygote, tmp_path):
    attack = ("    torch.set_default_dtype(torch.float64); torch.set_grad_enabled(False)\n"
              "    torch.manual_seed(123); torch.set_num_threads(1)\n"
              "    raise RuntimeError('spoiled the state')\n")
    card = _grade(any_zygote, tmp_path, mutate(REF, ("    x = x.detach()", attack + "    x = x.detach()")))
    assert set(failures(card)) == {"api", "gradient_values", "gradient_result_detached",
                                   "gradient_leaves_x_alone"}


def test_lying_return_values_are_rejected(any_zygote, tmp_path):
    liar = '''
class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return torch.ones(3, 4)

class FakeFloat(float):
    def __eq__(self, other): return True

def gradient(f, x):
    return torch.zeros(3, 4).as_subclass(Liar)

def fit_line(x, y, lr=0.1, steps=100):
    return torch.tensor(0.0), torch.tensor(0.0), [FakeFloat(0.0)] * steps
'''
    card = _grade(any_zygote, tmp_path, REF + liar)
    assert {"gradient_values", "fit_line_values"} <= set(failures(card))


def test_fake_result_files_change_nothing(any_zygote, tmp_path):
    """Student code writes forged full-marks results (a Gradescope results.json, a scorecard)
    everywhere it can write: its working folder (also its HOME and TMPDIR), the zygote's
    spool above it and the folder of the submission it was copied from (writable only
    unsandboxed). The card must still be the trusted side's: exactly the card of the same
    wrong code without the forgery."""
    wrong = mutate(REF, ("    return grad.detach()", "    return -grad"))
    forged = json.dumps({"score": 12.0, "max_score": 12.0, "tests": [], "checks": [], "problem": ""})
    attack = ("import os as _os, pathlib as _pathlib, tempfile as _tempfile\n"
              f"for _d in ['.', '..', _os.path.expanduser('~'), _tempfile.gettempdir(), {str(tmp_path)!r}]:\n"
              "    for _name in ('results.json', 'scorecard.json', 'autograd_basics.json'):\n"
              "        try:\n"
              f"            _pathlib.Path(_d, _name).write_text({forged!r})\n"
              "        except OSError:\n"
              "            pass\n")
    (tmp_path / "honest").mkdir()
    honest = _grade(any_zygote, tmp_path / "honest", wrong)
    card = _grade(any_zygote, tmp_path, attack + wrong)
    assert "gradient_values" in failures(card) and card.score < card.max_score
    assert [(c.id, c.status) for c in card.checks] == [(c.id, c.status) for c in honest.checks]
    assert card.score == honest.score and not card.problem
    # the forgery was really written (so really ignored): in the zygote's spool (the
    # parent of the worker's folder) in both modes, in the submission's folder unsandboxed
    assert (Path(any_zygote._spool) / "results.json").read_text() == forged
    assert (tmp_path / "results.json").exists() != any_zygote.sandboxed


def _read_at_import(zygote, tmp_path, secret: Path):
    """Grade the full reference preceded by a read of `secret`: full marks if it can be read."""
    return _grade(zygote, tmp_path, f"SECRET = open({str(secret)!r}).read()\n" + REF)


def _read_failed(card) -> bool:
    return card.score == 0 and any(card.problem.startswith(f"importing autograd_basics.py failed: {error}")
                                   for error in ("FileNotFoundError", "PermissionError"))


def test_hidden_suite_is_invisible_in_the_sandbox(sandboxed_zygote, tmp_path):
    secret = catalog.get(EX).suite_dir / "test_hidden.py"
    assert secret.is_file()
    card = _read_at_import(sandboxed_zygote, tmp_path, secret)
    assert _read_failed(card), (card.score, card.problem)


def test_reference_solution_is_invisible_in_the_sandbox(sandboxed_zygote, tmp_path):
    secret = catalog.get(EX).solution_path
    assert secret.is_file()
    card = _read_at_import(sandboxed_zygote, tmp_path, secret)
    assert _read_failed(card), (card.score, card.problem)


def test_killing_every_process_is_contained_in_the_sandbox(sandboxed_zygote, tmp_path):
    card = _grade(sandboxed_zygote, tmp_path, _in_fit_line(
        "    import os, signal; os.kill(-1, signal.SIGKILL); os._exit(0)\n"))
    assert set(failures(card)) == FIT_LINE_CHECKS
    assert_full_marks(_grade(sandboxed_zygote, tmp_path, REF))


def test_environment_is_scrubbed(any_zygote, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "secret-token-value")
    leak = mutate(REF, ("    return grad.detach()",
                        "    import os\n    assert 'GITHUB_TOKEN' not in os.environ\n    return grad.detach()"))
    z = Zygote(sandboxed=any_zygote.sandboxed)
    try:
        assert_full_marks(_grade(z, tmp_path, leak))
    finally:
        z.close()


def test_threads_left_running_neither_hang_nor_leak(any_zygote, tmp_path):
    attack = ("    import threading, time\n"
              "    def spin():\n"
              "        while True:\n"
              "            time.sleep(0.01)\n"
              "    threading.Thread(target=spin).start()  # not a daemon: would block a normal exit\n")
    start = time.monotonic()
    card = _grade(any_zygote, tmp_path, _in_fit_line(attack))
    assert_full_marks(card)
    assert all(c.status != "timeout" for c in card.checks)
    assert time.monotonic() - start < 15


def test_a_thread_that_fixes_results_later_gains_nothing(any_zygote, tmp_path):
    late = mutate(REF, ("    return grad.detach()",
                        "    import threading, time\n"
                        "    out = torch.zeros_like(grad)\n"
                        "    def fill_in():\n"
                        "        time.sleep(0.05)\n"
                        "        out.copy_(grad)\n"
                        "    threading.Thread(target=fill_in, daemon=True).start()\n"
                        "    return out"))
    card = _grade(any_zygote, tmp_path, late)
    assert "gradient_values" in failures(card)


def test_a_thread_that_steps_the_optimizer_later_gains_nothing(any_zygote, tmp_path):
    source = reference_source("exercise03_training_loop")
    late = mutate(source, ("    optimizer.step()\n",
                           "    import threading, time\n"
                           "    def step_later():\n"
                           "        time.sleep(0.05)\n"
                           "        optimizer.step()\n"
                           "    threading.Thread(target=step_later, daemon=True).start()\n"))
    path = tmp_path / "training_loop.py"
    path.write_text(late)
    card = grade(catalog.get("exercise03"), path, zygote=any_zygote, limits=QUICK)
    assert "train_step_gradients" in failures(card)  # the step came after train_step returned


def test_writing_a_huge_file_is_stopped(any_zygote, tmp_path):
    card = _grade(any_zygote, tmp_path, _in_fit_line(
        "    with open('huge.bin', 'wb') as f:\n"
        "        f.seek(1 << 30)\n"
        "        f.write(b'x')\n"))
    assert set(failures(card)) == FIT_LINE_CHECKS
    assert {c.status for c in card.checks if c.id in FIT_LINE_CHECKS} == {"error"}


@needs_bwrap
def test_forged_scorecards_in_the_batch_output_change_nothing(tmp_path):
    from grader import batch

    subs, out = tmp_path / "class", tmp_path / "results"
    subs.mkdir()
    victim = out / "scorecards" / "aaa" / f"{EX}.json"  # graded first, so already written
    forge = (f"import pathlib\n"
             f"try:\n"
             f"    pathlib.Path({str(victim)!r}).write_text('forged')\n"
             f"except OSError:\n"
             f"    pass\n")
    (subs / "aaa.py").write_text(REF)
    (subs / "zzz.py").write_text(forge + mutate(REF, ("    return grad.detach()", "    return -grad")))
    batch.run_batch(subs, out, jobs=1, limits=QUICK)
    assert '"score": 12.0' in victim.read_text()
    assert '"score": 12.0' not in (out / "scorecards" / "zzz" / f"{EX}.json").read_text()


def test_rewriting_its_own_file_changes_nothing(any_zygote, tmp_path):
    """A submission that, at import, overwrites its own file with the reference (where no
    sandbox hides the file: it knows the path) is still graded as what it was."""
    wrong = mutate(REF, ("    return grad.detach()", "    return -grad"))
    path = tmp_path / "autograd_basics.py"
    attack = (f"import pathlib\npathlib.Path({str(path)!r}).write_text({REF!r})\n"
              if not any_zygote.sandboxed else "") + wrong
    card = _grade(any_zygote, tmp_path, attack)
    assert "gradient_values" in failures(card)
    if not any_zygote.sandboxed:
        assert path.read_text() == REF  # the attack did rewrite the file
