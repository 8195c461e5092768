"""The class reports of a batch, from its scorecards: gradebook CSV, summary JSON and Markdown.

Pure functions of `cards` (student → exercise id → Scorecard): no times, no paths, so the
reports of a sharded run merged equal those of one run.
"""

from __future__ import annotations

import csv
import io
import re
import statistics
from collections import Counter

from grader.render.markdown import cell
from grader.scorecard import Scorecard

Cards = dict[str, dict[str, Scorecard]]


def num(x: float) -> str:
    return f"{round(x, 4):g}"


BINS = [f"{lo}–{lo + 9}%" for lo in range(0, 100, 10)] + ["100%"]


def _bin(percent: float) -> int:
    return 10 if percent >= 100 else max(0, int(percent // 10))


def _stats(values: list[float], max_score: float) -> dict:
    if not values:
        return {"count": 0}
    dist = [0] * len(BINS)
    for v in values:
        dist[_bin(100.0 * v / max_score if max_score else 0.0)] += 1
    return {"count": len(values), "max_score": max_score,
            "mean": round(statistics.fmean(values), 4), "median": round(statistics.median(values), 4), "min": min(values), "max": max(values),
            "full_marks": sum(1 for v in values if max_score and v >= max_score),
            "distribution": dict(zip(BINS, dist))}


def anonymous(text: str, student: str) -> str:
    """`text` with the student's id (a folder name in paths) replaced by <student>."""
    return re.sub(rf"(?<!\w){re.escape(student)}(?!\w)", "<student>", text) if student else text


def summarize(cards: Cards) -> dict:
    """The class summary: per exercise, score statistics and the checks failed most.

    Failing checks count the submissions that could run; those blocked outright (missing
    file, syntax error, import failure...) are counted under `common_problems` instead.
    """
    exercise_ids = sorted({e for per in cards.values() for e in per})
    maxima = {}
    for eid in exercise_ids:
        with_checks = [c.max_score for per in cards.values() if (c := per.get(eid)) and c.checks]
        maxima[eid] = max(with_checks, default=0.0)
    exercises = {}
    for eid in exercise_ids:
        graded = [(s, per[eid]) for s, per in sorted(cards.items()) if eid in per]
        fails: dict[str, dict] = {}
        for student, card in graded:
            for c in card.checks:
                if c.status == "passed" or card.problem:
                    continue
                entry = fails.setdefault(c.id, {"check": c.id, "title": c.title,
                                                "category": c.category, "points": c.max_points,
                                                "students": 0, "messages": Counter()})
                entry["students"] += 1
                entry["messages"][anonymous(c.message or c.status, student)] += 1
        failing = []
        for entry in sorted(fails.values(), key=lambda e: (-e["students"], e["check"])):
            (message, count), = sorted(entry.pop("messages").items(),
                                       key=lambda kv: (-kv[1], kv[0]))[:1]
            failing.append({**entry, "most_common_message": message, "message_count": count})
        problems = Counter(anonymous(card.problem, student)
                           for student, card in graded if card.problem)
        exercises[eid] = {
            "title": graded[0][1].title,
            **_stats([card.score for _, card in graded], maxima[eid]),
            "problems": sum(problems.values()),
            "common_problems": [{"problem": p, "students": n} for p, n in
                                sorted(problems.items(), key=lambda kv: (-kv[1], kv[0]))[:5]],
            "failing_checks": failing,
        }
    totals = [sum(c.score for c in per.values()) for per in cards.values()]
    return {"schema_version": 1, "students": len(cards), "exercises": exercises,
            "total": _stats(totals, sum(maxima.values()))}


def gradebook_csv(cards: Cards, summary: dict) -> str:
    exercise_ids = sorted(summary["exercises"])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", *exercise_ids, "total", "max_total", "percent", "problems"])
    max_total = summary["total"].get("max_score", 0.0)
    for student in sorted(cards):
        per = cards[student]
        total = sum(c.score for c in per.values())
        problems = "; ".join(f"{e}: {per[e].problem}" for e in exercise_ids
                             if e in per and per[e].problem)
        writer.writerow([student, *(num(per[e].score) if e in per else "" for e in exercise_ids),
                         num(total), num(max_total),
                         f"{100.0 * total / max_total:.1f}" if max_total else "", problems])
    return buf.getvalue()


def summary_markdown(summary: dict) -> str:
    md = cell
    lines = [f"# Class summary: {summary['students']} students", ""]
    total = summary["total"]
    if total.get("count"):
        lines += [f"Total score: mean {num(total['mean'])}, median {num(total['median'])}, "
                  f"min {num(total['min'])}, max {num(total['max'])} of "
                  f"{num(total['max_score'])}; {total['full_marks']} with full marks.", ""]
    for eid, ex in summary["exercises"].items():
        lines += [f"## {md(eid)} — {md(ex['title'])}", "",
                  f"{ex['count']} graded; mean {num(ex['mean'])}, median {num(ex['median'])}, "
                  f"min {num(ex['min'])}, max {num(ex['max'])} of {num(ex['max_score'])}; "
                  f"{ex['full_marks']} with full marks; {ex['problems']} could not be graded "
                  "in full.", "", "| score | students | |", "|---|--:|---|"]
        most = max(ex["distribution"].values()) or 1
        for label, count in ex["distribution"].items():
            lines.append(f"| {label} | {count} | {'█' * round(20 * count / most)} |")
        if ex["failing_checks"]:
            lines += ["", "Checks failed most:", "",
                      "| check | category | points | students failing | most common message |",
                      "|---|---|--:|--:|---|"]
            for f in ex["failing_checks"]:
                lines.append(f"| {md(f['title'])} (`{md(f['check'])}`) | {md(f['category'])} | "
                             f"{num(f['points'])} | {f['students']} | "
                             f"{md(f['most_common_message'])} ({f['message_count']}×) |")
        if ex["common_problems"]:
            lines += ["", "Most common problems:", ""]
            lines += [f"- {md(p['problem'])} ({p['students']}×)" for p in ex["common_problems"]]
        lines.append("")
    return "\n".join(lines)
