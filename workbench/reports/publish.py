"""What a report notebook shows is what the pack keeps.

A notebook of the pack makes one :class:`PackOutput` from its ``pack_dir`` parameter and
shows every table, figure and summary through it: the reader sees a table formatted for
people, and the pack runner collects the same table (raw values, exact money) into the
workbook and the CSV files. Run interactively (``pack_dir`` empty) it only shows.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

__all__ = ["PackOutput", "collected"]

_DIR = "_collected"


class PackOutput:
    """The notebook's side of the pack.

    Parameters
    ----------
    pack_dir : str
        The pack's working folder (a papermill parameter); empty: show only.
    notebook : str
        The notebook's name (``ar_aging``): tables are kept under it, in display order.
    """

    def __init__(self, pack_dir: str, notebook: str):
        self.folder = Path(pack_dir) / _DIR / notebook if pack_dir else None
        self.notebook = notebook
        self._n = 0
        self.summary_items: list[tuple[str, str, str]] = []
        self.gaps: list[str] = []
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)

    def _keep(self, kind: str, obj) -> None:
        if self.folder is None:
            return
        self._n += 1
        with open(self.folder / f"{self._n:03d}.{kind}.pkl", "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)

    def table(self, table) -> None:
        """Show a :class:`workbench.reporting.Table` and keep it for the workbook."""
        from ..reporting import show

        show(table)
        self._keep("table", table)

    def show(self, table) -> None:
        """Show a table for people only (its figures are kept in another form, see
        :meth:`keep`)."""
        from ..reporting import show

        show(table)

    def keep(self, table) -> None:
        """Keep a table for the workbook and ``tables/<name>.csv`` without showing it (the
        machine form of figures shown for people, such as the goals' actual, target and
        variance as numbers with their unit)."""
        self._keep("table", table)

    def figure(self, fig, alt: str) -> None:
        """Show a matplotlib figure with its alternative text (and close it)."""
        from ..reporting import show_figure

        show_figure(fig, alt)

    def summary(self, items: list[tuple[str, str, str]]) -> None:
        """The one-screen summary: (label, value, note) tiles; kept for the summary sheet."""
        from IPython.display import HTML, display

        from ..reporting import summary_tiles

        self.summary_items.extend(items)
        display(HTML(summary_tiles(items)))
        self._keep("summary", list(items))

    def gap(self, text: str) -> None:
        """Say what could not be computed and why (shown, and listed in the manifest)."""
        from IPython.display import Markdown, display

        self.gaps.append(text)
        display(Markdown(f"> **Not computed.** {text}"))
        self._keep("gap", text)

    def text(self, markdown: str) -> None:
        from IPython.display import Markdown, display

        display(Markdown(markdown))

    def record(self, name: str, value) -> None:
        """A machine-readable result (JSON) kept beside the tables (for tests and tools)."""
        if self.folder is None:
            return
        (self.folder / f"{name}.json").write_text(
            json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def collected(pack_dir: str | Path, notebook: str) -> dict:
    """What a notebook kept: ``{"tables": [...], "summary": [...], "gaps": [...],
    "records": {name: value}}`` in display order."""
    folder = Path(pack_dir) / _DIR / notebook
    out = {"tables": [], "summary": [], "gaps": [], "records": {}}
    if not folder.is_dir():
        return out
    for p in sorted(folder.glob("*.pkl")):
        kind = p.name.split(".")[1]
        with open(p, "rb") as f:
            obj = pickle.load(f)
        if kind == "table":
            out["tables"].append(obj)
        elif kind == "summary":
            out["summary"].extend(obj)
        elif kind == "gap":
            out["gaps"].append(obj)
    for p in sorted(folder.glob("*.json")):
        out["records"][p.stem] = json.loads(p.read_text())
    return out
