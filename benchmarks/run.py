"""Measure the grader's speed targets side by side; print a table, write benchmarks/results.json.

    python benchmarks/run.py [--repeats 3] [--batch 50] [--skip-naive]

1. cold `python -c "import torch"` (the floor)
2. `grade exercise03` on the reference in a new process (target <= 1.5x the floor)
3. each exercise's hidden suite on the reference, cold reference cache (target <= 10 s)
4. a batch of exercise03 submissions: `grade batch --jobs 2` vs a fresh `grade` process
   per submission (target >= 10x faster)
5. per-probe worker overhead: fork, empty probe, data back (target <= 20 ms median)
6. peak RSS of the grader processes during the batch
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
from tests.harness import mutate  # noqa: E402

GRADE = [sys.executable, "-m", "grader"]


def timed(cmd: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, **(env or {})}, cwd=ROOT)
    return time.perf_counter() - start


def stats(values: list[float]) -> dict:
    return {"min": min(values), "median": statistics.median(values), "max": max(values), "n": len(values)}


def make_class(folder: Path, n: int) -> None:
    """n students' exercise03 submissions: references, stubs, realistic mistakes, junk."""
    from tests.cases import exercise03_training_loop as t03

    ex = catalog.get("exercise03")
    ref = ex.solution_path.read_text()
    variants = [ref, (ex.exercise_dir(ROOT) / ex.filename).read_text(), "def train_step(:\n"]
    variants += [mutate(ref, *edits) for edits, _ in t03.MISTAKES.values()]
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
    warm = {"GRADER_CACHE_DIR": cache}
    ex03 = catalog.get("exercise03")

    results["import_torch_s"] = stats([timed([sys.executable, "-c", "import torch"])
                                       for _ in range(args.repeats)])
    timed(GRADE + ["exercise03", str(ex03.solution_path)], warm)  # fills the reference cache
    results["grade_exercise03_s"] = stats([timed(GRADE + ["exercise03", str(ex03.solution_path)], warm)
                                           for _ in range(args.repeats)])
    results["grade_vs_floor"] = (results["grade_exercise03_s"]["median"]
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
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        batch_s = timed(GRADE + ["batch", str(klass), "--exercise", "exercise03", "--jobs", "2",
                                 "--out", str(Path(tmp, "out"))], warm)
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        results["batch"] = {"submissions": args.batch, "jobs": 2, "wall_s": batch_s,
                            "per_submission_s": batch_s / args.batch,
                            "peak_rss_mb": max(peak_kb, before) / 1024}
        if not args.skip_naive:
            start = time.perf_counter()
            for student in sorted(klass.iterdir()):
                subprocess.run(GRADE + ["exercise03", str(student / ex03.filename)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, **warm})
            naive = time.perf_counter() - start
            results["batch"]["naive_wall_s"] = naive
            results["batch"]["speedup"] = naive / batch_s

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
    for name, s in r["suites_cold_cache"].items():
        print(f"  hidden suite {name} (cold reference cache)     {s['suite_s']:>8.2f}"
              f"   wall {s['wall_s']:.2f}  score {s['score']}  <= 10 s")
    print(f"  slowest suite: {r['slowest_suite']}")
    b = r["batch"]
    print(f"batch {b['submissions']} x exercise03, --jobs 2: {b['wall_s']:.1f} s "
          f"({b['per_submission_s']:.3f} s each), peak RSS {b['peak_rss_mb']:.0f} MB")
    if "naive_wall_s" in b:
        print(f"  naive (a fresh process each): {b['naive_wall_s']:.1f} s -> speedup "
              f"{b['speedup']:.1f}x  (target >= 10x)")
    row("per-probe overhead (ms)", r["probe_overhead_ms"], "median <= 20 ms")


if __name__ == "__main__":
    main()
