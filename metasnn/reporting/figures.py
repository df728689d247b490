"""The one figure helper: seaborn-styled matplotlib figures saved deterministically as PNG."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from metasnn.io import atomic_write_bytes


@contextmanager
def figure(path: str | Path, *, ncols: int = 1, nrows: int = 1, width: float = 4.5, height: float = 3.4,
           title: str | None = None, **subplot_kw: Any) -> Iterator[tuple[Any, Any]]:
    """``with figure("results/figures/x.png") as (fig, ax): ax.plot(...)`` — saved on exit.

    The PNG carries no timestamp or version metadata, so the same data gives the same bytes.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=(nrows * ncols == 1),
                           **subplot_kw)
    try:
        yield fig, ax
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120, metadata={"Software": None})
        atomic_write_bytes(path, buf.getvalue())
    finally:
        plt.close(fig)


def placeholder_figure(path: str | Path, message: str) -> None:
    """A figure that states why there is nothing to plot (never an empty or fake plot)."""
    with figure(path, width=5.0, height=1.6) as (_, ax):
        ax.axis("off")
        ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
