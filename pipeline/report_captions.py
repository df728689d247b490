"""Captions for ``snakemake --report``: one reStructuredText file per table / figure id, written
from ``paper/targets.yaml`` when the Snakefile is parsed (into ``.snakemake/metasnn-captions/``)."""

from __future__ import annotations

from pathlib import Path

from metasnn.reporting.targets import load_targets
from pipeline.config import ROOT

CAPTION_DIR = ROOT / ".snakemake" / "metasnn-captions"
#: the method tables that carry the cost columns of metasnn.evaluation.cost
COST_TABLES = frozenset({"sn22_table2_fewshot", "wu22_fig3_convergence", "wu22_fewshot_hp", "dsp_table1_methods",
                         "mp23_rule_ablation", "ip2_learning_to_learn", "cross_dataset"})


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
    text += (" Columns: paper value, ours (mean ± std over seeds, 95% CI), n, scale, data source (what fed the row, "
             "per dataset: real or emulated, subset or full), comparability." if kind == "table" else "")
    if kind == "table" and item_id in COST_TABLES:
        text += (" Cost columns (metasnn.evaluation.cost, NeuroBench-style, measured on the trained models): synaptic "
                 "operations per sample and their kind (AC / MAC), activation sparsity, parameter and state bytes; "
                 "what they count is in the table's notes.")
    CAPTION_DIR.mkdir(parents=True, exist_ok=True)
    caption = CAPTION_DIR / f"{item_id}.{kind}.rst"
    if not caption.is_file() or caption.read_text() != text + "\n":
        caption.write_text(text + "\n")
    return str(caption), paper, kind + "s"
