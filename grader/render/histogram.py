"""The class's total scores as a bar chart (matplotlib, the `plot` extra): histogram.png of a
batch."""

from __future__ import annotations

from grader.render import gradebook


def figure(summary: dict):
    """A bar chart of the class's total scores in the summary's bins, or None without
    matplotlib (the `plot` extra) or scores."""
    total = summary["total"]
    if not total.get("count"):
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except Exception:
        return None
    readable = gradebook.readable
    labels, counts = list(total["distribution"]), list(total["distribution"].values())
    fig, ax = plt.subplots(figsize=(7, 3.8))
    bars = ax.bar(range(len(labels)), counts, color="#4c72b0", edgecolor="white")
    ax.bar_label(bars, labels=[str(c) if c else "" for c in counts])
    ax.set_xticks(range(len(labels)), labels, rotation=40, ha="right", fontsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(counts) + 1)
    ax.set_xlabel(f"total score, as a share of {readable(total['max_score'])} points")
    ax.set_ylabel("students")
    ax.set_title(f"{total['count']} students: mean {readable(total['mean'])}, median "
                 f"{readable(total['median'])} of {readable(total['max_score'])}")
    fig.tight_layout()
    return fig
