"""The presentation layer of the packs: tables for people (HTML and Excel), the title
block, KPI tiles and figures with alt text, and the notebook-to-HTML conversion."""

from .excel import write_workbook
from .html import notebook_to_html
from .present import (LABELS, Table, display_frame, label_for, people_table, show, show_figure,
                      summary_tiles, title_block)

__all__ = ["LABELS", "Table", "display_frame", "label_for", "notebook_to_html", "people_table",
           "show", "show_figure", "summary_tiles", "title_block", "write_workbook"]
