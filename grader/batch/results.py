"""The results folder: scorecards written atomically as they arrive, merges of shards, and
the reports built from the scorecards on disk alone."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from grader.batch.discover import BatchError
from grader.batch.plan import PLAN_FILE, Plan, read_plan, shard_of
from grader.files import write_atomic
from grader.render import gradebook, histogram, markdown, report_html
from grader.scorecard import Scorecard

# ------------------------------------------------------------------ writing results


def card_path(out: Path, student: str, exercise: str) -> Path:
    """Where a student's scorecard for an exercise is written."""
    return out / "scorecards" / student / f"{exercise}.json"


def write_card(out: Path, student: str, card: Scorecard) -> None:
    """The Markdown first, the JSON last: a JSON file means this task is done."""
    from grader.render import json_format

    path = card_path(out, student, card.exercise)
    write_atomic(path.with_suffix(".md"), markdown.render(card))
    write_atomic(path, json_format.render(card))


def is_done(out: Path, student: str, exercise: str) -> bool:
    """`out` holds the scorecard of this task."""
    path = card_path(out, student, exercise)
    try:
        return json.loads(path.read_text()).get("exercise") == exercise
    except (OSError, ValueError, AttributeError):
        return False


class MergeRefused(BatchError):
    """The folders are not every shard of one plan, each complete; `gaps` says how."""

    def __init__(self, gaps: list[str]):
        super().__init__(f"{len(gaps)} gaps in the shards to merge")
        self.gaps = gaps


def merge_gaps(outputs: list[Path]) -> tuple[list[str], Plan | None]:
    """One line per way `outputs` fall short of being every shard of one plan, each with all
    its planned scorecards; and the plan of the whole run they share (the first found), None
    when none has a plan."""
    gaps: list[str] = []
    plans: list[tuple[Path, Plan]] = []
    for source in outputs:
        if (found := read_plan(source)) is None:
            gaps.append(f"{source}: no readable {PLAN_FILE} (not a batch output, or one made by "
                        "an older grader); grade that shard again")
        else:
            plans.append((source, found))
    if not plans:
        return gaps, None
    first_source, first = plans[0]
    count = first.shard[1]
    shards: dict[int, list[Path]] = {}
    for source, p in plans:
        if p.shard[1] != count:
            gaps.append(f"{source} is not a shard of the same run as {first_source}: split in "
                        f"{p.shard[1]} shards, not {count}")
            continue
        shards.setdefault(p.shard[0], []).append(source)
        if diff := first.difference(replace(p, shard=first.shard)):
            gaps.append(f"{source} is not a shard of the same run as {first_source}: {diff}")
            continue
        gaps += [f"{source}: no scorecard for {s} × {e}" for s, e in p.shard_tasks()
                 if not is_done(source, s, e)]
    for index in range(1, count + 1):
        given = shards.get(index, [])
        if not given:
            students = sorted(shard_of(list(first.tasks), index, count))
            gaps.append(f"shard {index}/{count} is missing ({len(students)} students: "
                        f"{', '.join(students[:5])}{', ...' if len(students) > 5 else ''})")
        elif len(given) > 1:
            gaps.append(f"shard {index}/{count} is given {len(given)} times: "
                        f"{', '.join(map(str, given))}")
    folders: dict[str, list[Path]] = {}
    for source in outputs:
        held = {p.parent.name for p in (Path(source) / "scorecards").glob("*/*.json")}
        for student in sorted(held):
            folders.setdefault(student, []).append(source)
    gaps += [f"{student} is in more than one shard: {', '.join(map(str, given))}"
             for student, given in sorted(folders.items()) if len(given) > 1]
    tasks: dict[str, list[str]] = {}
    for _, p in plans:
        tasks = {**p.tasks, **tasks}
    return gaps, Plan(dict(sorted(tasks.items())), (1, 1), first.grader_version, first.reference)


def merge(outputs: list[Path], out: Path, *, allow_partial: bool = False) -> dict:
    """Combine the shard outputs into `out`: their scorecards, the run's plan, fresh reports.

    Raises MergeRefused unless `outputs` are every shard of one plan, each complete; with
    `allow_partial` merges anyway (a student in two shards: the first folder given wins)
    and the reports mark the gaps.
    """
    out = Path(out)
    gaps, whole = merge_gaps([Path(o) for o in outputs])
    if gaps and not allow_partial:
        raise MergeRefused(gaps)
    copied: set[Path] = set()
    for source in outputs:
        folder = Path(source) / "scorecards"
        for card in sorted(folder.glob("*/*.json")):
            rel = card.relative_to(folder)
            target = out / "scorecards" / rel
            if rel not in copied and target.resolve() != card.resolve():
                md = card.with_suffix(".md")
                if md.is_file():
                    write_atomic(target.with_suffix(".md"), md.read_text(encoding="utf-8"))
                write_atomic(target, card.read_text(encoding="utf-8"))
            copied.add(rel)
    whole = whole or Plan({s: sorted(per) for s, per in sorted(load_cards(out).items())})
    whole.gaps = gaps
    write_atomic(out / PLAN_FILE, whole.to_json())
    return write_reports(out)


# ------------------------------------------------------------------ reports


def load_cards(out: Path) -> dict[str, dict[str, Scorecard]]:
    """student → exercise id → scorecard, from `out/scorecards/`."""
    cards: dict[str, dict[str, Scorecard]] = {}
    for path in sorted((Path(out) / "scorecards").glob("*/*.json")):
        try:
            card = Scorecard.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        cards.setdefault(path.parent.name, {})[card.exercise] = card
    return cards


def class_view(out: Path) -> tuple[dict[str, dict[str, Scorecard]], dict]:
    """The scorecards in `out` and their summary, with the planned ones that are missing."""
    cards = load_cards(out)
    planned = read_plan(out)
    tasks = planned.shard_tasks() if planned else []
    missing = [(s, e) for s, e in tasks if e not in cards.get(s, {})]
    return cards, gradebook.summarize(cards, missing, planned.gaps if planned else [])


def write_report(out: Path, path: Path) -> dict:
    """The HTML class report of the batch output `out`, written to `path`."""
    cards, summary = class_view(Path(out))
    write_atomic(Path(path), report_html.render(cards, summary))
    return summary


def write_reports(out: Path) -> dict:
    """gradebook.csv, summary.json, summary.md, report.html (and histogram.png) from the
    scorecards and the plan."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cards, summary = class_view(out)
    write_atomic(out / "gradebook.csv", gradebook.gradebook_csv(cards, summary))
    write_atomic(out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    write_atomic(out / "summary.md", gradebook.summary_markdown(summary))
    write_atomic(out / "report.html", report_html.render(cards, summary))
    if (fig := histogram.figure(summary)) is not None:
        import matplotlib.pyplot as plt

        fig.savefig(out / "histogram.png", dpi=120)
        plt.close(fig)
    return summary
