"""The figures of `capcode evaluate --plots`: precision/coverage, confusion, calibration,
learning curve and the effort curve of `--simulate`."""

from pathlib import Path

import numpy as np


def write_plots(details: dict, directory) -> list:
    """PNG plots per dimension (precision-coverage, confusion, reliability) and a learning curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []

    def save(figure, name):
        from ..files import atomic_path

        with atomic_path(directory / name) as tmp:
            figure.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
        plt.close(figure)
        written.append(directory / name)

    target = details["target_precision"]
    for dimension, detail in details["dimensions"].items():
        curve = [p for p in detail["precision_coverage"] if p["precision"] is not None]
        figure, axis = plt.subplots(figsize=(5, 4))
        axis.plot([p["coverage"] for p in curve], [p["precision"] for p in curve], marker=".")
        axis.axhline(target, linestyle="--", color="grey", label=f"target {target}")
        axis.set(xlabel="coverage (share of fragments not abstained)", ylabel="precision",
                 title=f"{dimension}: precision vs coverage", xlim=(0, 1.02), ylim=(0, 1.02))
        axis.legend(loc="lower left")
        save(figure, f"{dimension}_precision_coverage.png")

        confusion = detail["model"]["confusion"]
        figure, axis = plt.subplots(figsize=(1.2 * len(confusion["labels"]) + 2, 1.2 * len(confusion["labels"]) + 1.5))
        matrix = np.asarray(confusion["matrix"])
        axis.imshow(matrix, cmap="Blues")
        for (row, column), count in np.ndenumerate(matrix):
            axis.text(column, row, str(count), ha="center", va="center")
        axis.set_xticks(range(len(confusion["labels"])), confusion["labels"], rotation=30)
        axis.set_yticks(range(len(confusion["labels"])), confusion["labels"])
        axis.set(xlabel="model", ylabel="coders", title=f"{dimension}: confusion")
        save(figure, f"{dimension}_confusion.png")

        reliability = detail["calibration"]["reliability"]
        figure, axis = plt.subplots(figsize=(4, 4))
        axis.plot([0, 1], [0, 1], linestyle="--", color="grey")
        axis.plot([r["confidence"] for r in reliability], [r["accuracy"] for r in reliability], marker="o")
        axis.set(xlabel="predicted probability", ylabel="share correct", title=f"{dimension}: calibration",
                 xlim=(0, 1), ylim=(0, 1))
        save(figure, f"{dimension}_calibration.png")

    curves = {d: v["learning_curve"] for d, v in details["dimensions"].items() if "learning_curve" in v}
    if curves:
        figure, axis = plt.subplots(figsize=(6, 4))
        for dimension, points in curves.items():
            axis.plot([p["train_fragments"] for p in points], [p["kappa"] for p in points], marker="o", label=dimension)
        axis.set(xlabel="training fragments", ylabel="kappa (nested grouped CV)", title="learning curve", ylim=(0, 1))
        axis.legend(fontsize="small")
        save(figure, "learning_curve.png")
    if "simulation" in details:
        save(effort_figure(details["simulation"], plt), "effort.png")
    return written


def effort_figure(simulation: dict, plt):
    """Mean kappa on held-out cases against fragments coded: capcode's order against random order."""
    figure, axis = plt.subplots(figsize=(6, 4))
    for name, style in (("capcode", "-o"), ("random", "--s")):
        points = simulation["curves"][name]
        x = [p["coded"] for p in points]
        y = [p["kappa"] for p in points]
        axis.plot(x, y, style, label=f"{name} order", markersize=4)
        if name == "random" and "kappa_sd" in points[0]:
            sd = np.asarray([p["kappa_sd"] for p in points])
            axis.fill_between(x, np.asarray(y) - sd, np.asarray(y) + sd, alpha=0.2)
    target = simulation["target_kappa"]
    axis.axhline(target, linestyle=":", color="grey", label=f"kappa {target}")
    axis.set(xlabel="fragments coded", ylabel="mean kappa on held-out cases",
             title="effort: coding in capcode's order vs random", ylim=(0, 1))
    axis.legend(loc="lower right", fontsize="small")
    return figure
