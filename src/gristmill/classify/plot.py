"""The reliability plot a model card shows: predicted probability against observed frequency.

Drawn from the calibration tables of the metrics JSON (``metrics.calibration``), so the plot,
the card and the JSON agree. matplotlib is imported here only, with the Agg backend, and the
PNG carries no software version or date: the same metrics give the same bytes.
"""

from __future__ import annotations

import os
from pathlib import Path


def reliability_plot(path: Path, curves: dict[str, dict], title: str = "") -> None:
    """One line per named calibration table (bins with documents only), the diagonal, and
    each curve's ECE in its legend; written atomically to ``path``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.8, 4.2), dpi=100)
    try:
        ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfectly calibrated")
        for (name, cal), marker in zip(curves.items(), "os^vD", strict=False):
            pts = [(b["mean_p"], b["frac_positive"]) for b in cal["bins"] if b["n"]]
            if pts:
                xs, ys = zip(*pts, strict=True)
                ax.plot(xs, ys, marker=marker, linewidth=1.5, label=f"{name} (ECE {cal['ece']:.3f})")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean predicted probability (bin)")
        ax.set_ylabel("fraction positive (bin)")
        if title:
            ax.set_title(title, fontsize=9)
        ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        tmp = path.with_name(path.name + ".tmp")
        fig.savefig(tmp, format="png", metadata={"Software": None})
        os.replace(tmp, path)
    finally:
        plt.close(fig)
