"""The PNGs: a heatmap of shares per case and cell, and the cases placed by the ch. 6 rule.

matplotlib is imported when a chart is drawn (Agg backend, no display needed).
"""

import io

from ..records import Aggregate
from .language import Words
from .tables import DUTCH, negative_word, pct


def heatmap_png(result: Aggregate, w: Words = DUTCH) -> bytes:
    """Cases x cells heatmap of shares, each square annotated with n and share."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cases = list(result.cases) or [result.total]
    cells = result.layout.cells()
    shares = np.array([[s.share or 0.0 for s in case.cells] for case in cases])
    fig, ax = plt.subplots(figsize=(1.1 * len(cells) + 2.5, 0.55 * len(cases) + 1.8), dpi=100)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=max(0.01, float(shares.max())), aspect="auto")
    ax.set_xticks(range(len(cells)), ["\n".join(c) for c in cells], fontsize=8)
    ax.set_yticks(range(len(cases)), [f"{_label(w.case(c.case))} (n={c.n_relevant})" for c in cases], fontsize=9)
    ax.xaxis.tick_top()
    top = float(shares.max()) or 1.0
    for i, case in enumerate(cases):
        for j, stats in enumerate(case.cells):
            colour = "white" if (stats.share or 0) > 0.6 * top else "black"
            ax.text(j, i, f"{stats.n}\n{pct(stats.share)}", ha="center", va="center", fontsize=7, color=colour)
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02, label=w["heatmap_bar"])
    fig.tight_layout()
    return _png_bytes(fig)


def profiles_png(result: Aggregate, params, w: Words = DUTCH) -> bytes:
    """Each case at (N, R) with the rule's thresholds drawn: the ch. 6 placement at a glance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    min_r, min_n = params.type_min_director, params.type_min_shortfall
    top = max(0.6, min_r + 0.2, *((c.profile.share_director or 0.0) + 0.05 for c in result.cases))
    fig, ax = plt.subplots(figsize=(5.8, 4.2), dpi=100)
    ax.axhline(min_r, color="grey", lw=1, ls="--")
    ax.plot([min_n, min_n], [0, min_r], color="grey", lw=1, ls="--")
    ax.text(0.5, (top + min_r) / 2, "type 3", ha="center", color="grey")
    ax.text(min_n / 2, min_r * 0.8, "type 1", ha="center", color="grey")
    ax.text((1 + min_n) / 2, min_r * 0.8, "type 2", ha="center", color="grey")
    for case in result.cases:
        p = case.profile
        x, y = p.share_shortfall or 0.0, p.share_director or 0.0
        low = (p.share_strategic or 0.0) < params.type_min_strategic
        ax.scatter([x], [y], s=30, color=("C0", "C1", "C2")[p.type_id - 1], marker="x" if low else "o")
        ax.annotate(_label(case.case), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, top)
    ax.set_xlabel(w.say("profiles_x", negative=negative_word(params)))
    ax.set_ylabel(w["profiles_y"])
    ax.set_title(w.say("profiles_title", min_s=f"{params.type_min_strategic:.2f}"), fontsize=9)
    fig.tight_layout()
    return _png_bytes(fig)


def _label(name: str) -> str:
    """A name on one line for a chart (tabs and line breaks from the data become spaces)."""
    return " ".join(str(name).split())


def _png_bytes(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
