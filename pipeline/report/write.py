"""Every output of an aggregate into one folder, each file written atomically."""

from pathlib import Path

from ..files import atomic_open, write_table, write_xlsx
from ..records import Aggregate
from .charts import heatmap_png, profiles_png
from .language import Words
from .markdown import summary_markdown
from .spreadsheets import CSV_HEADER, csv_rows, xlsx_sheets
from .tables import overview_text
from .webpage import report_html


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def write_reports(result: Aggregate, out_dir: Path, comparison=None, params=None, report_types=None,
                  language: str = "nl") -> list:
    """Write every output of the aggregate into `out_dir` in `language` ('nl' or 'en'); return the paths written."""
    from ..config import AggregateParams

    params = params or AggregateParams()
    w = Words(language)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images = {"heatmap.png": heatmap_png(result, w)}
    if result.rule:
        images["profiles.png"] = profiles_png(result, params, w)
    written = []
    for name, data in images.items():
        write_bytes(out_dir / name, data)
        written.append(out_dir / name)
    write_table(out_dir / "aggregates.csv", CSV_HEADER, csv_rows(result))
    write_xlsx(out_dir / "aggregates.xlsx", xlsx_sheets(result, w, params))
    texts = {"summary.md": summary_markdown(result, comparison, report_types, w, params),
             "report.html": report_html(result, images, comparison, report_types, w, params),
             "overview.txt": overview_text(result, report_types, w, params)}
    for name, text in texts.items():
        with atomic_open(out_dir / name) as handle:
            handle.write(text)
    written += [out_dir / n for n in ("aggregates.csv", "aggregates.xlsx", *texts)]
    return written
