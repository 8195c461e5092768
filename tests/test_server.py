"""The warm grading server behind repeated interactive `grade` runs."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from grader import catalog, live, server
from tests.harness import mutate, reference_source

EX = catalog.get("exercise01")


@pytest.fixture
def runtime(tmp_path_factory, monkeypatch):
    """A private runtime folder (short: socket paths are limited to 107 bytes); servers
    started in it are stopped afterwards."""
    base = tmp_path_factory.mktemp("rt")
    monkeypatch.setenv("GRADER_RUNTIME_DIR", str(base))
    monkeypatch.setenv("GRADER_SERVER", "on")
    yield base
    for lock in base.rglob("*.lock"):
        try:
            os.kill(int(lock.read_text() or 0), signal.SIGKILL)
        except (ValueError, OSError):
            pass


def _grade_cli(path) -> dict:
    done = subprocess.run([sys.executable, "-m", "grader", EX.id, str(path), "--format", "json"],
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def _wait_for(predicate, seconds=180.0):  # a server starts slowly on a loaded machine
    end = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def _server_pid(runtime) -> int:
    locks = list(runtime.rglob("*.lock"))
    return int(locks[0].read_text()) if locks and locks[0].read_text() else 0


def test_repeat_runs_are_graded_by_the_warm_server(runtime, tmp_path):
    first = _grade_cli(EX.solution_path)  # no server yet: graded here, one started after
    assert first["score"] == first["max_score"] > 0
    _wait_for(lambda: server.socket_path().exists())
    pid = _server_pid(runtime)
    assert pid
    wrong = tmp_path / EX.filename
    wrong.write_text(mutate(reference_source(EX.id), ("    return grad.detach()", "    return -grad")))
    again, mistaken = _grade_cli(EX.solution_path), _grade_cli(wrong)
    assert [(c["id"], c["status"]) for c in again["checks"]] == \
        [(c["id"], c["status"]) for c in first["checks"]]
    assert {c["id"] for c in mistaken["checks"] if c["status"] != "passed"} == {"gradient_values"}
    assert _server_pid(runtime) == pid  # the same server answered both


def test_a_killed_server_is_replaced(runtime):
    _grade_cli(EX.solution_path)
    _wait_for(lambda: server.socket_path().exists())
    os.kill(_server_pid(runtime), signal.SIGKILL)  # leaves its socket file behind
    card = _grade_cli(EX.solution_path)
    assert card["score"] == card["max_score"]
    _wait_for(lambda: server.grade(EX, EX.solution_path) is not None)


def test_server_leaves_when_idle(runtime):
    path = server.socket_path()
    proc = subprocess.Popen([sys.executable, "-m", "grader.server", str(path), "--idle", "0.5"])
    try:
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert not path.exists()


def test_fingerprint_follows_the_solutions(tmp_path, monkeypatch):
    solutions = tmp_path / "solutions"
    shutil.copytree(EX.solution_path.parent.parent, solutions)
    monkeypatch.setenv("GRADER_SOLUTIONS", str(solutions))
    before = server.fingerprint()
    edited = solutions / EX.id / EX.filename
    os.utime(edited, ns=(edited.stat().st_atime_ns, edited.stat().st_mtime_ns + 10**9))
    assert server.fingerprint() != before


def test_a_folder_others_can_write_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_RUNTIME_DIR", str(tmp_path))
    (tmp_path / f"pytorch-grader-{os.getuid()}").mkdir(mode=0o777)
    os.chmod(tmp_path / f"pytorch-grader-{os.getuid()}", 0o777)
    assert server.runtime_dir() is None
    assert server.grade(EX, EX.solution_path) is None


@pytest.mark.parametrize("env, expected", [({"GRADER_SERVER": "off"}, False),
                                           ({"GRADER_SERVER": "on"}, True),
                                           ({"CI": "true"}, False)])
def test_when_the_server_is_used(monkeypatch, env, expected):
    monkeypatch.delenv("GRADER_SERVER", raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert server.enabled() is expected


def test_watch_rounds_go_through_the_warm_server_which_names_each_probe(runtime):
    path = server.socket_path()
    proc = subprocess.Popen([sys.executable, "-m", "grader.server", str(path), "--preload", EX.id])
    try:
        _wait_for(path.exists)
        rounds = live.Grader(EX)
        heard = []
        first = rounds.grade(EX.solution_path, on_probe=heard.append)
        second = rounds.grade(EX.solution_path)
        assert rounds.session is None  # no GradingSession of its own: the server graded both rounds
        assert first.score == first.max_score > 0 and second.score == second.max_score
        assert heard[0] == "__api__" and {"gradient_call", "fit_line_call"} <= set(heard)
        assert second.duration_s < 5  # warm: no torch start-up (well under 1 s when idle)
    finally:
        proc.kill()


def test_a_salted_run_is_graded_here_without_a_server(runtime, monkeypatch):
    """A warm server grades with the salt it started under: a salted run never asks one
    (nor leaves one behind for its one-off salt)."""
    monkeypatch.setenv("GRADER_SALT", "7919")
    monkeypatch.setenv("GRADER_REFERENCES", "live")
    card = _grade_cli(EX.solution_path)
    assert card["score"] == card["max_score"] > 0
    time.sleep(1)
    assert not list(runtime.rglob("*.sock")) and not list(runtime.rglob("*.lock"))
