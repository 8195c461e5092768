"""The class reports of a batch, from its scorecards: gradebook CSV, summary JSON and Markdown.

Pure functions of `cards` (student → exercise id → Scorecard) and of the planned tasks that
have no scorecard: no times, no paths, so the reports of a sharded run merged equal those of
one run. A card records mistakes (checks with status `failed`) unless it could not be judged
in full; then it has a problem (`problem_of`), listed apart and never counted as a mistake.
"""

from __future__ import annotations

import csv
import io
import re
import statistics
from collections import Counter
from typing import Iterable

from grader.render.markdown import cell
from grader.scorecard import Scorecard, Status

Cards = dict[str, dict[str, Scorecard]]
SCHEMA_VERSION = 2
# what stopped a card from being judged in full, in the order they are listed
PROBLEM_KINDS = ("grader error", "could not run", "timeout", "error")


def exact(x: float) -> str:
    """A score as the gradebook keeps it (exact to 4 decimals)."""
    return f"{round(x, 4):g}"


def readable(x: float) -> str:
    """A number as people read it: at most one decimal."""
    return f"{round(x, 1):g}"


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
            "mean": round(statistics.fmean(values), 4),
            "median": round(statistics.median(values), 4), "min": min(values), "max": max(values),
            "full_marks": sum(1 for v in values if max_score and v >= max_score),
            "distribution": dict(zip(BINS, dist))}


def anonymous(text: str, student: str) -> str:
    """`text` with the student's id (a folder name in paths) replaced by <student>."""
    return re.sub(rf"(?<!\w){re.escape(student)}(?!\w)", "<student>", text) if student else text


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def problem_of(card: Scorecard) -> tuple[str, str] | None:
    """(kind, one-line detail) when `card` could not be judged in full, else None.

    The kind is the first that applies of PROBLEM_KINDS: the grader failed (regrade it),
    the submission could not run at all, checks timed out (or were not run for lack of
    time), checks raised an error in the student's code.
    """
    if card.grader_error:
        faulty = [c.message for c in card.checks if c.status == Status.GRADER_ERROR]
        return "grader error", _first_line(card.grader_fault) or _first_line(
            faulty[0] if faulty else card.problem)
    if card.problem:
        return "could not run", card.problem
    for kind, statuses in (("timeout", {Status.TIMEOUT, Status.NOT_RUN}),
                           ("error", {Status.ERROR})):
        hit = [c for c in card.checks if c.status in statuses]
        if hit:
            first = next((c for c in hit if c.status != Status.NOT_RUN), hit[0])
            return kind, f"{len(hit)} of {len(card.checks)} checks: {_first_line(first.message)}"
    return None


def _checks(graded: list[tuple[str, Scorecard]]) -> list[dict]:
    """Every check of an exercise: how many submissions it judged (passed or failed), how
    many failed it, and their most common message; most failed first."""
    entries: dict[str, dict] = {}
    messages: dict[str, Counter] = {}
    for student, card in graded:
        for c in card.checks:
            entry = entries.setdefault(c.id, {"check": c.id, "title": c.title,
                                              "category": c.category, "points": c.max_points,
                                              "judged": 0, "failed": 0})
            if c.status in (Status.PASSED, Status.FAILED):
                entry["judged"] += 1
            if c.status == Status.FAILED:
                entry["failed"] += 1
                messages.setdefault(c.id, Counter())[anonymous(c.message or "failed", student)] += 1
    rows = []
    for entry in sorted(entries.values(), key=lambda e: (-e["failed"], e["check"])):
        common = sorted(messages.get(entry["check"], Counter()).items(),
                        key=lambda kv: (-kv[1], kv[0]))
        message, count = common[0] if common else ("", 0)
        rows.append({**entry, "most_common_message": message, "message_count": count})
    return rows


def summarize(cards: Cards, missing: Iterable[tuple[str, str]] = (),
              gaps: Iterable[str] = ()) -> dict:
    """The class summary: per exercise, score statistics, problems by kind and every check's
    failures; for the class, the problems, the planned (student, exercise) `missing` a
    scorecard, and the `gaps` a merge was told to accept."""
    exercise_ids = sorted({e for per in cards.values() for e in per})
    maxima = {}
    for eid in exercise_ids:
        with_checks = [c.max_score for per in cards.values() if (c := per.get(eid)) and c.checks]
        maxima[eid] = max(with_checks, default=0.0)
    problems = sorted(({"student": s, "exercise": e, "kind": p[0], "detail": p[1]}
                       for s, per in cards.items() for e, card in per.items()
                       if (p := problem_of(card))),
                      key=lambda p: (PROBLEM_KINDS.index(p["kind"]), p["exercise"], p["student"]))
    exercises = {}
    for eid in exercise_ids:
        graded = [(s, per[eid]) for s, per in sorted(cards.items()) if eid in per]
        kinds = Counter(p["kind"] for p in problems if p["exercise"] == eid)
        exercises[eid] = {
            "title": graded[0][1].title,
            **_stats([card.score for _, card in graded], maxima[eid]),
            "problems": {kind: kinds[kind] for kind in PROBLEM_KINDS},
            "checks": _checks(graded),
        }
    totals = [sum(c.score for c in per.values()) for per in cards.values()]
    return {"schema_version": SCHEMA_VERSION, "students": len(cards), "exercises": exercises,
            "total": _stats(totals, sum(maxima.values())), "problems": problems,
            "missing": [{"student": s, "exercise": e} for s, e in sorted(set(missing))],
            "gaps": list(gaps)}


def gradebook_csv(cards: Cards, summary: dict) -> str:
    """A row per student: scores, total and percent (left empty while a planned scorecard is
    missing), and the problems column."""
    exercise_ids = sorted(summary["exercises"])
    missing: dict[str, list[str]] = {}
    for m in summary["missing"]:
        missing.setdefault(m["student"], []).append(m["exercise"])
    notes: dict[str, list[str]] = {}
    for p in summary["problems"]:
        notes.setdefault(p["student"], []).append(f"{p['exercise']}: {p['kind']}: {p['detail']}")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", *exercise_ids, "total", "max_total", "percent", "problems"])
    max_total = summary["total"].get("max_score", 0.0)
    for student in sorted(set(cards) | set(missing)):
        per = cards.get(student, {})
        total = sum(c.score for c in per.values())
        complete = student not in missing
        problems = notes.get(student, []) + [f"{e}: missing" for e in missing.get(student, [])]
        writer.writerow([student, *(exact(per[e].score) if e in per else "" for e in exercise_ids),
                         exact(total) if complete else "", exact(max_total),
                         f"{100.0 * total / max_total:.1f}" if max_total and complete else "",
                         "; ".join(problems)])
    return buf.getvalue()


def one_line(summary: dict) -> str:
    """The class in one sentence for the command line, numbers rounded for people."""
    total = summary["total"]
    line = (f"mean total {readable(total.get('mean', 0))}/{readable(total.get('max_score', 0))}; "
            f"{len(summary['problems'])} with problems")
    if summary["missing"] or summary["gaps"]:
        gaps = len(summary["gaps"])
        line += (f"; {len(summary['missing'])} planned scorecards missing and {gaps} "
                 f"merge gap{'' if gaps == 1 else 's'}, marked in the gradebook")
    return line + "."


def _counts(problems: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in problems.items() if n) or "none"


def summary_markdown(summary: dict) -> str:
    """The class summary as Markdown: totals, histogram, problems to regrade."""
    md = cell
    lines = [f"# Class summary: {summary['students']} students", ""]
    total = summary["total"]
    if total.get("count"):
        lines += [f"Total score: mean {readable(total['mean'])}, median {readable(total['median'])}, "
                  f"min {readable(total['min'])}, max {readable(total['max'])} of "
                  f"{readable(total['max_score'])}; {total['full_marks']} with full marks.", ""]
    if summary["gaps"] or summary["missing"]:
        lines += ["## Missing scorecards", "",
                  "These planned scorecards are not here; totals of those students are left "
                  "empty in the gradebook.", ""]
        lines += [f"- {md(gap)}" for gap in summary["gaps"]]
        lines += [f"- {md(m['student'])} × {md(m['exercise'])}: missing"
                  for m in summary["missing"]]
        lines.append("")
    regrade = [p for p in summary["problems"] if p["kind"] == "grader error"]
    if regrade:
        lines += ["## To regrade", "", "The grader failed on these; the scores are not the "
                  "students' to keep.", ""]
        lines += [f"- {md(p['student'])} × {md(p['exercise'])}: {md(p['detail'])}"
                  for p in regrade]
        lines.append("")
    others = [p for p in summary["problems"] if p["kind"] != "grader error"]
    if others:
        lines += ["## Problems", "", "Submissions that could not be judged in full (not counted "
                  "as mistakes below).", "", "| student | exercise | problem | detail |",
                  "|---|---|---|---|"]
        lines += [f"| {md(p['student'])} | {md(p['exercise'])} | {md(p['kind'])} | "
                  f"{md(p['detail'])} |" for p in others]
        lines.append("")
    for eid, ex in summary["exercises"].items():
        lines += [f"## {md(eid)} — {md(ex['title'])}", "",
                  f"{ex['count']} graded; mean {readable(ex['mean'])}, median "
                  f"{readable(ex['median'])}, min {readable(ex['min'])}, max {readable(ex['max'])} of "
                  f"{readable(ex['max_score'])}; {ex['full_marks']} with full marks; problems: "
                  f"{_counts(ex['problems'])}.", "", "| score | students | |", "|---|--:|---|"]
        most = max(ex["distribution"].values()) or 1
        for label, count in ex["distribution"].items():
            lines.append(f"| {label} | {count} | {'█' * round(20 * count / most)} |")
        failing = [c for c in ex["checks"] if c["failed"]]
        if failing:
            lines += ["", "Checks failed most (mistakes only):", "",
                      "| check | category | points | students failing | most common message |",
                      "|---|---|--:|--:|---|"]
            for f in failing:
                lines.append(f"| {md(f['title'])} (`{md(f['check'])}`) | {md(f['category'])} | "
                             f"{readable(f['points'])} | {f['failed']} of {f['judged']} | "
                             f"{md(f['most_common_message'])} ({f['message_count']}×) |")
        lines.append("")
    return "\n".join(lines)
