"""The reports of an aggregate: summary.md, report.html, aggregates.xlsx/.csv, PNGs and the overview.

Everything here turns a `records.Aggregate` into files; nothing is computed that the reports
disagree on, and nothing here imports the aggregate stage: `pipeline.aggregate.run` hands the
Aggregate over. Each module imports only those above it in this list:

- `language.py`      the reports' words in Dutch and English (`report.language` in params.yaml)
- `tables.py`        the rows every report shows (overview, ch. 6 placements, a case's cells) and
                     the shared formatting (shares, cell codes and names); `overview_text`
- `spreadsheets.py`  aggregates.csv and the sheets of aggregates.xlsx
- `charts.py`        heatmap.png and profiles.png
- `markdown.py`      summary.md
- `webpage.py`       report.html, self-contained (inline CSS, PNGs as base64), opens offline
- `write.py`         `write_reports`: all of them into one folder, each file atomically

The names below are re-exported for callers of the package; code inside capcode imports them
from the module that owns them.
"""

from .charts import heatmap_png, profiles_png
from .language import LANGUAGES, Words
from .markdown import summary_markdown
from .spreadsheets import CSV_HEADER, csv_rows, sheet_name, xlsx_sheets
from .tables import cell_code, cell_label, overview_rows, overview_text, pct, typology_rows
from .webpage import report_html
from .write import write_reports

__all__ = [
    "CSV_HEADER", "LANGUAGES", "Words", "cell_code", "cell_label", "csv_rows", "heatmap_png", "overview_rows", "overview_text", "pct",
    "profiles_png", "report_html", "sheet_name", "summary_markdown", "typology_rows", "write_reports",
    "xlsx_sheets",
]
