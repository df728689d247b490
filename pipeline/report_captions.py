"""Captions for ``snakemake --report``: one reStructuredText file per table / figure id, written
from ``paper/targets.yaml`` when the Snakefile is parsed (into ``.snakemake/metasnn-captions/``)."""

from __future__ import annotations

from pathlib import Path

from metasnn.reporting.targets import load_targets
from pipeline.config import ROOT

CAPTION_DIR = ROOT / ".snakemake" / "metasnn-captions"


def report_item(path: str) -> tuple[str, str, str] | None:
    """``(caption_file, category, subcategory)`` for a report-worthy output path, else ``None``."""
    p = Path(path)
    if "{" in path or p.parent.name not in ("tables", "figures") or p.suffix not in (".csv", ".png"):
        return None
    item_id = p.stem
    targets = load_targets()
    table = targets.tables.get(item_id)
    if table is not None:
        title, paper, source = table.title, table.paper, table.source
        text = f"**{item_id}** — {title}. Paper: {targets.papers.get(paper, paper)}, {source}."
    else:
        paper = item_id.split("_", 1)[0]
        text = f"**{item_id}** (no paper counterpart in paper/targets.yaml)."
    kind = "table" if p.suffix == ".csv" else "figure"
    text += (" Columns: paper value, ours (mean ± std over seeds, 95% CI), n, scale, data source, comparability."
             if kind == "table" else "")
    CAPTION_DIR.mkdir(parents=True, exist_ok=True)
    caption = CAPTION_DIR / f"{item_id}.{kind}.rst"
    if not caption.is_file() or caption.read_text() != text + "\n":
        caption.write_text(text + "\n")
    return str(caption), paper, kind + "s"
