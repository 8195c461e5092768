"""Scorecard as JUnit XML (the xunit2 shape pytest writes; one <testcase> per check).

Statuses map to JUnit's: failed and timeout → <failure>, error → <error>, not-run →
<skipped>. Characters XML 1.0 forbids are dropped; points go into <properties>.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from grader.render.text import points
from grader.scorecard import Scorecard

# XML 1.0 allows #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_FORBIDDEN = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text) -> str:
    """Text XML 1.0 can hold."""
    return _FORBIDDEN.sub("\ufffd", str(text))


def _secs(x: float) -> str:
    return f"{x:.3f}"


def render(card: Scorecard) -> str:
    """The scorecard as JUnit XML: one testcase per check."""
    timestamp = card.graded_at or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    counts = {s: sum(c.status == s for c in card.checks) for s in
              ("failed", "error", "timeout", "not-run")}
    root = ET.Element("testsuites")
    suite = ET.SubElement(root, "testsuite", {
        "name": clean(card.exercise),
        "tests": str(len(card.checks)),
        "failures": str(counts["failed"] + counts["timeout"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["not-run"]),
        "time": _secs(card.duration_s),
        "timestamp": timestamp,
    })
    props = ET.SubElement(suite, "properties")
    suite_props = [("title", card.title), ("submission", card.submission),
                   ("score", points(card.score)), ("max_score", points(card.max_score)),
                   ("grader_version", card.grader_version)]
    if card.problem:
        suite_props.append(("problem", card.problem))
    suite_props += [(f"points.{c.id}", f"{points(c.points)}/{points(c.max_points)}")
                    for c in card.checks]
    for name, value in suite_props:
        ET.SubElement(props, "property", {"name": clean(name), "value": clean(value)})
    for c in card.checks:
        case = ET.SubElement(suite, "testcase", {
            "classname": clean(card.exercise), "name": clean(c.id), "time": _secs(c.duration_s)})
        title = f"{c.title} [{c.category}, {points(c.points)}/{points(c.max_points)} points]"
        if c.status == "passed":
            continue
        tag = {"error": "error", "grader-error": "error", "not-run": "skipped"}.get(c.status, "failure")
        node = ET.SubElement(case, tag, {"message": clean(c.message or c.status)})
        if tag != "skipped":
            node.set("type", c.status)
        body = "\n".join(part for part in (title, c.output) if part)
        node.text = clean(body)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
