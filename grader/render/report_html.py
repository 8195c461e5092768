"""The class report: one self-contained HTML page a teacher opens offline.

A pure function of the scorecards and their summary (`gradebook.summarize`): per exercise
the score distribution (inline SVG) and each check's failure rate with its most common
message; the problems; every student's scorecards to unfold (check, status, message,
output). No script, no network: all text is escaped, and the page's Content Security Policy
forbids scripts and remote loads should anything slip through.
"""

from __future__ import annotations

from html import escape

from grader.render.gradebook import Cards, exact, readable
from grader.render.markdown import MAX_OUTPUT
from grader.render.text import printable

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CSS = """
body{font:15px/1.45 system-ui,sans-serif;color:#222;max-width:1100px;margin:1.5em auto;
padding:0 1em}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ddd;padding:.25em .5em;
text-align:left;vertical-align:top}th{background:#f4f4f4}td.n{text-align:right}
code,pre{font:13px ui-monospace,monospace}pre{background:#f7f7f7;padding:.5em;white-space:pre-wrap;
overflow-wrap:anywhere;max-height:24em;overflow:auto}
.lead{color:#555}
.rate{display:inline-block;width:80px;height:10px;background:#eee;margin-right:.4em}
.rate span{display:block;height:10px;background:#c44e52}
.passed{color:#2a7a2a}.failed{color:#b22}
.problem,.error,.timeout,.not-run,.could-not-run{color:#a60}
td.nowrap{white-space:nowrap}figure{margin:.6em 0}figcaption{color:#555;font-size:13px}
.grader-error,.missing{color:#fff;background:#b22;padding:0 .3em}
details.student{border:1px solid #ddd;margin:.3em 0;padding:.3em .6em}
details.student>summary{cursor:pointer;font-weight:600}
svg.chart rect{fill:#4c72b0}
svg.chart text{font:11px system-ui,sans-serif;fill:#333;text-anchor:middle}
"""


def h(text) -> str:
    """Text safe anywhere in the page: control characters replaced, markup escaped."""
    return escape(printable(str(text)), quote=True)


def distribution_svg(distribution: dict[str, int], title: str) -> str:
    """Students per score bin as an inline SVG bar chart in a captioned figure, its numbers
    written on it."""
    width, height, left, top, bottom = 560, 170, 8, 16, 22
    step = (width - 2 * left) / len(distribution)
    most = max(distribution.values()) or 1
    parts = [f'<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}"><title>{h(title)}</title>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - left}" '
             f'y2="{height - bottom}" stroke="#999"/>']
    plot = height - top - bottom
    for i, (label, count) in enumerate(distribution.items()):
        x, bar = left + i * step, plot * count / most
        y = height - bottom - bar
        parts.append(f'<rect x="{x + 3:.1f}" y="{y:.1f}" width="{step - 6:.1f}" '
                     f'height="{bar:.1f}"><title>{h(label)}: {count} students</title></rect>')
        if count:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{y - 3:.1f}">{count}</text>')
        parts.append(f'<text x="{x + step / 2:.1f}" y="{height - 6}">{h(label)}</text>')
    return f"<figure>{''.join(parts)}</svg><figcaption>{h(title)}</figcaption></figure>"


def _table(head: list[str], rows: list[list[str]]) -> str:
    """A table of cells already escaped; a cell may be (css class, content)."""

    def td(cell) -> str:
        css, text = cell if isinstance(cell, tuple) else ("", cell)
        return f'<td class="{css}">{text}</td>' if css else f"<td>{text}</td>"

    return ("<table><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>"
            + "".join("<tr>" + "".join(map(td, row)) + "</tr>" for row in rows) + "</table>")


def _rate(failed: int, judged: int) -> str:
    share = 100.0 * failed / judged if judged else 0.0
    return (f'<span class="rate"><span style="width:{share:.0f}%"></span></span>'
            f"{failed} of {judged} ({share:.0f}%)")


def _gaps(summary: dict) -> str:
    if not (summary["gaps"] or summary["missing"]):
        return ""
    items = [h(gap) for gap in summary["gaps"]]
    items += [f'{h(m["student"])} × {h(m["exercise"])}: <span class="missing">missing</span>'
              for m in summary["missing"]]
    return ('<section id="missing"><h2>Missing scorecards</h2><p>These planned scorecards are '
            "not here; the totals of those students are left empty.</p><ul>"
            + "".join(f"<li>{i}</li>" for i in items) + "</ul></section>")


def _problems(summary: dict) -> str:
    problems = summary["problems"]
    head = f'<section id="problems"><h2>Problems ({len(problems)})</h2>'
    if not problems:
        return head + "<p>None: every submission was judged in full.</p></section>"
    rows = [[h(p["student"]), h(p["exercise"]),
             f'<span class="{h(p["kind"]).replace(" ", "-")}">{h(p["kind"])}</span>',
             h(p["detail"])] for p in problems]
    return (head + "<p>Submissions that could not be judged in full; not counted as mistakes. "
            "A grader error is the grader's fault: regrade those.</p>"
            + _table(["student", "exercise", "problem", "detail"], rows) + "</section>")


def _exercise(eid: str, ex: dict) -> str:
    problems = ", ".join(f"{n} {kind}" for kind, n in ex["problems"].items() if n) or "none"
    rows = [[f'{h(c["title"])} <code>{h(c["check"])}</code>', h(c["category"]),
             ("n", readable(c["points"])), ("nowrap", _rate(c["failed"], c["judged"])),
             f'{h(c["most_common_message"])} ({c["message_count"]}×)' if c["failed"] else ""]
            for c in ex["checks"]]
    return (f'<section id="ex-{h(eid)}"><h2>{h(eid)} — {h(ex["title"])}</h2>'
            f'<p>{ex["count"]} graded; mean {readable(ex["mean"])}, median {readable(ex["median"])}, '
            f'min {readable(ex["min"])}, max {readable(ex["max"])} of {readable(ex["max_score"])}; '
            f'{ex["full_marks"]} with full marks; problems: {h(problems)}.</p>'
            + distribution_svg(ex["distribution"], f"Students per score on {eid} (share of "
                               f"{readable(ex['max_score'])} points)")
            + "<h3>Checks (failures are mistakes only)</h3>"
            + _table(["check", "category", "points", "failed", "most common message"], rows)
            + "</section>")


def _students(cards: Cards, summary: dict) -> str:
    exercise_ids = sorted(summary["exercises"])
    missing = {(m["student"], m["exercise"]) for m in summary["missing"]}
    problems = {(p["student"], p["exercise"]): p["kind"] for p in summary["problems"]}
    incomplete = {s for s, _ in missing}
    students = sorted(set(cards) | incomplete)
    max_total = summary["total"].get("max_score", 0.0)
    rows, drill = [], []
    for i, student in enumerate(students):
        per = cards.get(student, {})
        complete = student not in incomplete
        total = sum(c.score for c in per.values())
        row = [f'<a href="#s{i}">{h(student)}</a>']
        for eid in exercise_ids:
            kind = problems.get((student, eid))
            mark = f' <span class="{h(kind).replace(" ", "-")}">{h(kind)}</span>' if kind else ""
            row.append(f"{exact(per[eid].score)}{mark}" if eid in per else
                       '<span class="missing">missing</span>' if (student, eid) in missing else "")
        row.append(f"{exact(total)} / {exact(max_total)}" if complete else "")
        rows.append(row)
        drill.append(f'<details class="student" id="s{i}"><summary>{h(student)}: '
                     + (f"{exact(total)} / {exact(max_total)}" if complete else "incomplete")
                     + "</summary>" + "".join(_card(per[e]) for e in sorted(per)) + "</details>")
    return ('<section id="students"><h2>Students</h2>'
            + _table(["student", *map(h, exercise_ids), "total"], rows)
            + "<p>Each student's scorecards, to unfold:</p>" + "".join(drill) + "</section>")


def _card(card) -> str:
    rows = []
    for c in card.checks:
        output = printable(c.output)
        if len(output) > MAX_OUTPUT:
            output = output[:MAX_OUTPUT] + f"\n[... {len(output) - MAX_OUTPUT} more characters]"
        rows.append([h(c.title), ("nowrap", f'<span class="{h(c.status)}">{h(c.status)}</span>'),
                     f"{exact(c.points)} / {exact(c.max_points)}", h(c.message),
                     f"<details><summary>output</summary><pre>{h(output)}</pre></details>"
                     if output.strip() else ""])
    problem = f'<p class="problem">Problem: {h(card.problem)}</p>' if card.problem else ""
    fault = ""
    if card.grader_error:
        fault = ('<p><span class="grader-error">grader error</span> grading failed on the '
                 "grader's side: regrade this one.</p>")
        if card.grader_fault:
            fault += (f"<details><summary>what failed</summary><pre>{h(card.grader_fault)}</pre>"
                      "</details>")
    return (f"<h3>{h(card.exercise)} — {h(card.title)}: {exact(card.score)} / "
            f"{exact(card.max_score)}</h3>{fault}{problem}"
            + (_table(["check", "status", "points", "message", "output"], rows) if rows else "")
            + f"<p class=\"lead\">Submission <code>{h(card.submission)}</code></p>")


def render(cards: Cards, summary: dict) -> str:
    """The class report: one HTML page from a batch's summary and scorecards."""
    total = summary["total"]
    count = len(summary["exercises"])
    lead = f"{summary['students']} students, {count} exercise{'' if count == 1 else 's'}"
    if total.get("count"):
        lead += (f"; total score mean {readable(total['mean'])}, median {readable(total['median'])} "
                 f"of {readable(total['max_score'])}; {total['full_marks']} with full marks")
    nav = " · ".join([f'<a href="#problems">problems ({len(summary["problems"])})</a>',
                      *(f'<a href="#ex-{h(e)}">{h(e)}</a>' for e in summary["exercises"]),
                      '<a href="#students">students</a>'])
    chart = (distribution_svg(total["distribution"], "Students per total score (share of "
                              f"{readable(total['max_score'])} points)")
             if total.get("count") else "")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Class report: {summary['students']} students</title><style>{CSS}</style>"
            f"</head><body><h1>Class report</h1><p class=\"lead\">{h(lead)}.</p><nav>{nav}</nav>"
            + chart + _gaps(summary) + _problems(summary)
            + "".join(_exercise(e, ex) for e, ex in summary["exercises"].items())
            + _students(cards, summary) + "</body></html>\n")
