"""Measure the grader's speed targets side by side; print a table, write benchmarks/results.json.

    python benchmarks/run.py [--repeats 3] [--batch 50] [--skip-naive]

1. cold `python -c "import torch"` (the floor)
2. `grade exercise03` on the reference in a new process (target <= 1.5x the floor): cold
   (no warm server: what CI and a first run pay) and repeated at a terminal (warm server)
3. each exercise's hidden suite on the reference, cold reference cache (target <= 10 s)
4. a batch of exercise03 submissions: `grade batch --jobs 2` vs the naive way, a fresh
   pytest process per submission running the hidden suite (benchmarks/naive_plugin.py;
   target >= 10x faster), and vs a fresh `grade` process each; a class of 40 with
   --jobs 1 vs --jobs 2, and salted (--salt random: live references for a fresh salt)
5. per-probe worker overhead: fork, empty probe, data back (target <= 20 ms median)
6. peak memory of all the grader's processes together during the batch (sum of PSS,
   which counts pages shared by forked processes once, and sum of RSS)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import catalog  # noqa: E402

GRADE = [sys.executable, "-m", "grader"]
NAIVE = [sys.executable, "-m", "pytest", "grader/suites/exercise03_training_loop", "-q",
         "-c", "grader/suites/pytest.ini", "--rootdir", "grader/suites", "-p", "no:cacheprovider",
         "-p", "benchmarks.naive_plugin", "--exercise", "exercise03"]


def timed(cmd: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, **(env or {})}, cwd=ROOT)
    return time.perf_counter() - start


def tree_memory_mb(root: int) -> tuple[float, float]:
    """(PSS, RSS) summed over `root` and all its descendants, in MB."""
    parents = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
            parents[int(entry)] = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    pss = rss = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1])
        except OSError:
            continue
    return pss / 1024, rss / 1024


def timed_with_memory(cmd: list[str], env: dict) -> tuple[float, float, float]:
    """Wall time and peak (PSS, RSS) in MB of the command's whole process tree."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **env}, cwd=ROOT)
    peak_pss = peak_rss = 0.0
    while proc.poll() is None:
        pss, rss = tree_memory_mb(proc.pid)
        peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        time.sleep(0.5)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return time.perf_counter() - start, peak_pss, peak_rss


def warm_server_runs(repeats: int, env: dict) -> list[float]:
    """Repeated `grade exercise03` at a terminal: the first run starts the warm server."""
    ex03 = catalog.get("exercise03")
    runtime = tempfile.mkdtemp(prefix="bench-rt-")
    env = {**env, "GRADER_SERVER": "on", "GRADER_RUNTIME_DIR": runtime}
    cmd = GRADE + ["exercise03", str(ex03.solution_path)]
    try:
        timed(cmd, env)
        deadline = time.monotonic() + 60
        while not list(Path(runtime).rglob("*.sock")) and time.monotonic() < deadline:
            time.sleep(0.05)
        return [timed(cmd, env) for _ in range(repeats)]
    finally:
        for lock in Path(runtime).rglob("*.lock"):
            try:
                os.kill(int(lock.read_text()), 9)
            except (ValueError, OSError):
                pass
        shutil.rmtree(runtime, ignore_errors=True)


def stats(values: list[float]) -> dict:
    return {"min": min(values), "median": statistics.median(values), "max": max(values), "n": len(values)}


def make_class(folder: Path, n: int) -> None:
    """n students' exercise03 submissions: references, stubs, realistic mistakes, junk."""
    ex = catalog.get("exercise03")
    ref = ex.solution_path.read_text()
    variants = [ref, (ex.exercise_dir(ROOT) / ex.filename).read_text(), "def train_step(:\n"]
    variants += [p.read_text() for p in sorted((ex.solution_path.parent / "mistakes").glob("*.py"))]
    for i in range(n):
        student = folder / f"student{i:03d}"
        student.mkdir(parents=True)
        (student / ex.filename).write_text(variants[i % len(variants)])


def probe_overhead(repeats: int = 200) -> list[float]:
    from grader.worker.client import Zygote
    from grader.worker.limits import Limits

    ex = catalog.get("exercise01")
    with tempfile.TemporaryDirectory() as tmp:
        probes = Path(tmp, "probes.py")
        probes.write_text("def empty(mod):\n    return {'ok': True}\n")
        req = {"module_path": str(ex.solution_path), "module_name": ex.module,
               "probe_path": str(probes), "probe": "empty", "kwargs": {}}
        with Zygote() as z:
            z.run(req, Limits())
            out = []
            for _ in range(repeats):
                start = time.perf_counter()
                assert z.run(req, Limits()).ok
                out.append(time.perf_counter() - start)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--skip-naive", action="store_true", help="skip the slow naive batch")
    args = ap.parse_args()
    results: dict = {"cpus": os.cpu_count()}
    cache = tempfile.mkdtemp(prefix="bench-cache-")
    warm = {"GRADER_CACHE_DIR": cache, "GRADER_SERVER": "off"}
    ex03 = catalog.get("exercise03")

    results["import_torch_s"] = stats([timed([sys.executable, "-c", "import torch"])
                                       for _ in range(args.repeats)])
    timed(GRADE + ["exercise03", str(ex03.solution_path)], warm)  # fills the reference cache
    results["grade_exercise03_s"] = stats([timed(GRADE + ["exercise03", str(ex03.solution_path)], warm)
                                           for _ in range(args.repeats)])
    results["grade_vs_floor"] = (results["grade_exercise03_s"]["median"]
                                 / results["import_torch_s"]["median"])
    results["grade_exercise03_warm_server_s"] = stats(warm_server_runs(args.repeats, warm))
    results["warm_server_vs_floor"] = (results["grade_exercise03_warm_server_s"]["median"]
                                       / results["import_torch_s"]["median"])

    suites = {}
    for ex in catalog.exercises():
        cold = tempfile.mkdtemp(prefix="bench-cold-")
        out = Path(cold, "card.json")
        wall = timed(GRADE + [ex.id, str(ex.solution_path), "--format", "json", "--out", str(out)],
                     {"GRADER_CACHE_DIR": cold})
        card = json.loads(out.read_text())
        suites[ex.short_id] = {"wall_s": wall, "suite_s": card["duration_s"],
                               "score": f"{card['score']:g}/{card['max_score']:g}"}
        shutil.rmtree(cold)
    results["suites_cold_cache"] = suites
    results["slowest_suite"] = max(suites.items(), key=lambda kv: kv[1]["suite_s"])[0]

    with tempfile.TemporaryDirectory() as tmp:
        klass = Path(tmp, "class")
        make_class(klass, args.batch)
        out = Path(tmp, "out")
        batch_s, pss, rss = timed_with_memory(GRADE + ["batch", str(klass), "--exercise", "exercise03",
                                                       "--jobs", "2", "--out", str(out)], warm)
        results["batch"] = {"submissions": args.batch, "jobs": 2, "wall_s": batch_s,
                            "per_submission_s": batch_s / args.batch,
                            "peak_pss_mb": pss, "peak_rss_mb": rss}
        if not args.skip_naive:
            students = sorted(klass.iterdir())
            start = time.perf_counter()
            for student in students:
                subprocess.run(NAIVE + ["--submission", str(student / ex03.filename)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, **warm})
            naive = time.perf_counter() - start
            start = time.perf_counter()
            for student in students[:10]:
                subprocess.run(GRADE + ["exercise03", str(student / ex03.filename)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, **warm})
            one_by_one = (time.perf_counter() - start) / 10 * len(students)
            results["batch"].update(naive_wall_s=naive, speedup=naive / batch_s,
                                    grade_each_wall_s=one_by_one,
                                    speedup_vs_grade_each=one_by_one / batch_s)
        klass40 = Path(tmp, "class40")
        make_class(klass40, 40)
        results["batch40_jobs"] = {
            str(jobs): timed(GRADE + ["batch", str(klass40), "--exercise", "exercise03", "--jobs",
                                      str(jobs), "--out", str(Path(tmp, f"out40-{jobs}"))], warm)
            for jobs in (1, 2)}
        results["batch40_salted_s"] = timed(  # a fresh salt: every reference result computed live
            GRADE + ["batch", str(klass40), "--exercise", "exercise03", "--jobs", "2", "--salt", "random",
                     "--out", str(Path(tmp, "out40-salted"))], warm)

    results["probe_overhead_ms"] = {k: v * 1000 if k != "n" else v
                                    for k, v in stats(probe_overhead()).items()}
    shutil.rmtree(cache, ignore_errors=True)

    out = ROOT / "benchmarks" / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)


def print_table(r: dict) -> None:
    def row(name, s, target=""):
        print(f"{name:<44} {s['min']:>8.3f} {s['median']:>8.3f} {s['max']:>8.3f}  {target}")

    print(f"{'measure (seconds unless noted)':<44} {'min':>8} {'median':>8} {'max':>8}  target")
    row("import torch (cold, the floor)", r["import_torch_s"])
    row("grade exercise03 on the reference (cold)", r["grade_exercise03_s"],
        f"<= 1.5x floor: {r['grade_vs_floor']:.2f}x")
    row("grade exercise03 again (warm server)", r["grade_exercise03_warm_server_s"],
        f"<= 1.5x floor: {r['warm_server_vs_floor']:.2f}x")
    for name, s in r["suites_cold_cache"].items():
        print(f"  hidden suite {name} (cold reference cache)     {s['suite_s']:>8.2f}"
              f"   wall {s['wall_s']:.2f}  score {s['score']}  <= 10 s")
    print(f"  slowest suite: {r['slowest_suite']}")
    b = r["batch"]
    print(f"batch {b['submissions']} x exercise03, --jobs 2: {b['wall_s']:.1f} s "
          f"({b['per_submission_s']:.3f} s each), peak memory {b['peak_pss_mb']:.0f} MB PSS "
          f"({b['peak_rss_mb']:.0f} MB RSS summed)")
    if "naive_wall_s" in b:
        print(f"  naive (a fresh pytest process each): {b['naive_wall_s']:.1f} s -> speedup "
              f"{b['speedup']:.1f}x  (target >= 10x)")
        print(f"  a fresh `grade` process each (10 timed, scaled): {b['grade_each_wall_s']:.1f} s "
              f"-> speedup {b['speedup_vs_grade_each']:.1f}x")
    j = r["batch40_jobs"]
    print(f"batch 40 x exercise03: --jobs 1 {j['1']:.1f} s, --jobs 2 {j['2']:.1f} s "
          f"({j['1'] / j['2']:.2f}x); --jobs 2 --salt random {r['batch40_salted_s']:.1f} s "
          f"(+{r['batch40_salted_s'] - j['2']:.1f} s)")
    row("per-probe overhead (ms)", r["probe_overhead_ms"], "median <= 20 ms")


if __name__ == "__main__":
    main()
