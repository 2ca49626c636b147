"""The corpus report as one self-contained HTML file: charts (inline SVG drawn by pygal) with a
table beside each, from the figures of :mod:`extraction.gold.estimate`.

Nothing is loaded from the network: pygal's styles are inline and its tooltip script (which it
would fetch) is left out; every chart has a text equivalent in the table beside it, for screen
readers and for copying. Every text from the database (field names, metadata values, run and
sample names) is escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

import pygal
from pygal.style import Style

from extraction.gold.figures import amount_text, rate_text

RUN_COLOUR = "#9a9a9a"
GOLD_COLOUR = "#7fb2e5"
CORRECTED_COLOUR = "#1f4e9c"
ERROR_COLOURS = ("#2e8b57", "#e0a526", "#c0392b", "#7d3c98")
"""correct, wrong value, hallucinated, missed."""
OUTCOME_NAMES = {
    "correct": "correct",
    "wrong_value": "wrong value",
    "hallucinated": "hallucinated",
    "missed": "missed",
}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
  max-width: 1200px; padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px
  solid #ddd; padding-bottom: .2rem; } h3 { margin-top: 1.4rem; }
.summary { color: #444; } nav a { margin-right: 1rem; }
.pair { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.pair figure { flex: 1 1 560px; margin: 0; } .pair .table { flex: 1 1 420px; overflow-x: auto; }
figure svg { width: 100%; height: auto; } figcaption { font-size: .9rem; color: #555; }
table { border-collapse: collapse; font-size: .88rem; font-variant-numeric: tabular-nums; }
th, td { padding: .25rem .55rem; border-bottom: 1px solid #e6e6e6; text-align: right; }
th:first-child, td:first-child { text-align: left; } thead th { border-bottom: 2px solid #bbb; }
.note { color: #8a5300; font-size: .9rem; } .method { max-width: 60rem; }
footer { margin-top: 3rem; color: #777; font-size: .85rem; }
"""


def _style(colours: Sequence[str]) -> Style:
    return Style(
        background="white",
        plot_background="white",
        colors=tuple(colours),
        font_family="system-ui, sans-serif",
        label_font_size=12,
        major_label_font_size=12,
        legend_font_size=13,
        title_font_size=15,
    )


def _svg(chart: pygal.Graph) -> str:
    """The chart as inline SVG, without pygal's script (its tooltips load code from the web)
    and its comments (which name pygal's web site: nothing here points off the page)."""
    svg = chart.render(is_unicode=True)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    return re.sub(r"<script\b.*?</script>", "", svg, flags=re.S)


def _chart(
    kind: type[pygal.Graph], title: str, colours: Sequence[str], rows: int, **options: Any
) -> pygal.Graph:
    height = max(220, 70 + 34 * rows)
    return kind(
        js=[],
        disable_xml_declaration=True,
        style=_style(colours),
        width=760,
        height=height,
        title=title,
        legend_at_bottom=True,
        legend_at_bottom_columns=4,
        truncate_label=-1,
        show_y_guides=False,
        **options,
    )


def _percent_point(value: float | None, interval: Sequence[float] | None) -> Any:
    if value is None:
        return None
    point: dict[str, Any] = {"value": 100 * value}
    if interval:
        point["ci"] = {"low": 100 * interval[0], "high": 100 * interval[1]}
    return point


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], caption: str) -> str:
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<th scope="row">{html.escape(cell)}</th>'
            if i == 0
            else f"<td>{html.escape(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<div class="table"><table><caption class="summary">{html.escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _pair(svg: str, caption: str, table: str) -> str:
    label = html.escape(caption)
    return (
        '<div class="pair"><figure role="group">'
        f'<div role="img" aria-label="{label}">{svg}</div>'
        f"<figcaption>{label}</figcaption></figure>{table}</div>"
    )


def _rate_fields(fields: dict[str, Any]) -> list[str]:
    return [name for name, figures in fields.items() if "disclosure" in figures]


def _bars(
    kind: type[pygal.Graph],
    title: str,
    colours: Sequence[str],
    labels: Sequence[str],
    series: Sequence[tuple[str, list[Any]]],
    **options: Any,
) -> str:
    """A horizontal bar chart as inline SVG, its first label at the top (pygal draws
    horizontal charts bottom-up)."""
    chart = _chart(kind, title, colours, len(labels) * max(1, len(series)), **options)
    chart.x_labels = list(reversed(labels))
    for name, values in series:
        chart.add(name, list(reversed(values)))
    return _svg(chart)


def _disclosure(figures: dict[str, Any]) -> dict[str, Any]:
    return dict(figures["disclosure"])


def disclosure_section(fields: dict[str, Any]) -> str:
    names = _rate_fields(fields)
    d = {n: _disclosure(fields[n]) for n in names}
    svg = _bars(
        pygal.HorizontalBar,
        "Papers reporting each field (%)",
        (RUN_COLOUR, GOLD_COLOUR, CORRECTED_COLOUR),
        names,
        [
            ("run (raw)", [_percent_point(d[n]["model"], None) for n in names]),
            (
                "gold sample",
                [_percent_point(d[n]["gold_sample"], d[n]["gold_sample_ci95"]) for n in names],
            ),
            ("corrected", [_percent_point(d[n]["corrected"], d[n]["ci95"]) for n in names]),
        ],
        range=(0, 100),
    )
    rows = [
        [
            n,
            rate_text(d[n]["model"]),
            rate_text(d[n]["gold_sample"], d[n]["gold_sample_ci95"]),
            rate_text(d[n]["corrected"], d[n]["ci95"]),
        ]
        for n in names
    ]
    table = _table(
        ["field", "run (raw)", "gold sample", "corrected"],
        rows,
        "% of papers reporting the field, 95% intervals",
    )
    return _pair(
        svg,
        "Share of papers reporting each field: the run's raw rate, the gold sample's own "
        "estimate and the corrected estimate, with 95% intervals.",
        table,
    )


def accuracy_section(fields: dict[str, Any], overall: dict[str, Any]) -> str:
    names = [n for n in _rate_fields(fields) if "accuracy" in fields[n]]
    accuracy = {n: fields[n]["accuracy"] for n in names} | {"overall": overall}
    labels = [*names, "overall"]
    svg = _bars(
        pygal.HorizontalBar,
        "Accuracy of the run (%)",
        (CORRECTED_COLOUR,),
        labels,
        [
            (
                "accuracy",
                [_percent_point(accuracy[n]["estimate"], accuracy[n]["ci95"]) for n in labels],
            )
        ],
        range=(0, 100),
        show_legend=False,
    )
    rows = [
        [n, rate_text(accuracy[n]["estimate"], accuracy[n]["ci95"]), str(accuracy[n]["n"])]
        for n in labels
    ]
    table = _table(
        ["field", "accuracy", "gold papers"], rows, "% correct over the corpus, 95% intervals"
    )
    return _pair(svg, "The run's accuracy per field over the corpus, with 95% intervals.", table)


def errors_section(fields: dict[str, Any]) -> str:
    names = [n for n in _rate_fields(fields) if "accuracy" in fields[n]]

    def share(name: str, kind: str) -> float | None:
        figures = fields[name]
        value = (
            figures["accuracy"]["estimate"]
            if kind == "correct"
            else figures["errors"][kind]["estimate"]
        )
        return None if value is None else 100 * value

    svg = _bars(
        pygal.HorizontalStackedBar,
        "Error mix (% of papers)",
        ERROR_COLOURS,
        names,
        [(label, [share(n, kind) for n in names]) for kind, label in OUTCOME_NAMES.items()],
        range=(0, 100),
    )
    rows = [
        [
            n,
            *(
                rate_text(fields[n]["errors"][k]["estimate"], fields[n]["errors"][k]["ci95"])
                for k in ("wrong_value", "hallucinated", "missed")
            ),
        ]
        for n in names
    ]
    table = _table(
        ["field", "wrong value", "hallucinated", "missed"], rows, "% of papers, 95% intervals"
    )
    return _pair(
        svg,
        "How the run's answers fall: correct, wrong value (both report, values differ), "
        "hallucinated (the run reports what the paper does not) and missed.",
        table,
    )


def means_section(fields: dict[str, Any]) -> str:
    names = [n for n, f in fields.items() if "mean" in f and f["mean"]["model"] is not None]
    if not names:
        return "<p>No numeric field is reported by the run.</p>"
    parts = []
    for n in names:
        mean = fields[n]["mean"]
        corrected: Any = mean["corrected"]
        if corrected is not None and mean["ci95"]:
            corrected = {
                "value": corrected,
                "ci": {"low": mean["ci95"][0], "high": mean["ci95"][1]},
            }
        svg = _bars(
            pygal.HorizontalBar,
            f"{n}: mean among reporting papers",
            (RUN_COLOUR, GOLD_COLOUR, CORRECTED_COLOUR),
            [n],
            [
                ("run (raw)", [mean["model"]]),
                ("gold sample", [mean["gold_sample"]]),
                ("corrected", [corrected]),
            ],
        )
        table = _table(
            ["field", "run (raw)", "gold sample", "corrected"],
            [
                [
                    n,
                    amount_text(mean["model"]),
                    amount_text(mean["gold_sample"]),
                    amount_text(mean["corrected"], mean["ci95"]),
                ]
            ],
            "mean among papers reporting a value, 95% interval",
        )
        parts.append(_pair(svg, f"Mean {n} among papers that report it.", table))
    return "".join(parts)


def breakdown_section(breakdown: dict[str, Any]) -> str:
    column = breakdown["column"]
    groups = breakdown["groups"]
    values = list(groups)
    first = next(iter(groups.values()))["fields"]

    def disclosure(group: str, name: str) -> dict[str, Any]:
        return _disclosure(groups[group]["fields"][name])

    names = [
        n
        for n in _rate_fields(first)
        if any(
            (disclosure(g, n)["model"] or 0) > 0 or (disclosure(g, n)["corrected"] or 0) > 0
            for g in values
        )
    ]
    parts = [
        _table(
            [column, "papers", "gold papers"],
            [[g, f"{groups[g]['corpus_papers']:,}", str(groups[g]["gold_papers"])] for g in values],
            f"papers per {column}",
        )
    ]
    for n in names:
        svg = _bars(
            pygal.HorizontalBar,
            f"{n}: papers reporting it by {column} (%)",
            (RUN_COLOUR, CORRECTED_COLOUR),
            values,
            [
                ("run (raw)", [_percent_point(disclosure(g, n)["model"], None) for g in values]),
                (
                    "corrected",
                    [
                        _percent_point(disclosure(g, n)["corrected"], disclosure(g, n)["ci95"])
                        for g in values
                    ],
                ),
            ],
            range=(0, 100),
        )
        rows = [
            [
                g,
                rate_text(disclosure(g, n)["model"]),
                rate_text(disclosure(g, n)["corrected"], disclosure(g, n)["ci95"]),
                rate_text(
                    groups[g]["fields"][n]["accuracy"]["estimate"],
                    groups[g]["fields"][n]["accuracy"]["ci95"],
                ),
            ]
            for g in values
        ]
        table = _table(
            [column, "run (raw)", "corrected", "accuracy"],
            rows,
            f"{n} by {column}: % of papers reporting it, and the run's accuracy; 95% intervals",
        )
        parts.append(f"<h3>{html.escape(n)}</h3>")
        parts.append(
            _pair(svg, f"Share of papers reporting {n}, by {column}: raw and corrected.", table)
        )
    return "".join(parts)


def render(report: dict[str, Any], *, generated_at: str, version: str) -> str:
    """The whole report as one HTML document."""
    sample = report["sample"]
    run = report["run"]
    design = (
        "stratified by " + " × ".join(sample["strata_by"])
        if sample["strata_by"]
        else "a simple random sample"
    )
    title = f"goldsmith report: run {run['name']}, sample {sample['name']}"
    breakdowns = report.get("breakdowns", [])
    nav = [
        ("disclosure", "Disclosure"),
        ("accuracy", "Accuracy"),
        ("errors", "Error mix"),
        ("means", "Means"),
        *((f"by-{b['column']}", f"By {b['column']}") for b in breakdowns),
        ("method", "Method"),
    ]
    notes = [
        f"{name}: {note}"
        for name, figures in report["fields"].items()
        for note in figures.get("notes", [])
    ]
    body = [
        f"<header><h1>{html.escape(title)}</h1>",
        f'<p class="summary">{report["corpus_papers"]:,} papers in the corpus; the run extracted '
        f"{run['papers']:,}. Gold sample <strong>{html.escape(sample['name'])}</strong>: "
        f"{sample['gold_papers']} gold papers of {sample['size']} sampled, {html.escape(design)}. "
        "All intervals are 95%.</p></header>",
        "<nav>"
        + "".join(f'<a href="#{html.escape(a)}">{html.escape(t)}</a>' for a, t in nav)
        + "</nav>",
        '<section id="disclosure"><h2>Disclosure</h2>',
        "<p>The share of papers that report each field. The run's raw rate counts its own "
        "answers over every paper it extracted; the corrected rate adjusts it by the run's "
        "errors measured on the gold sample.</p>",
        disclosure_section(report["fields"]),
        "</section>",
        '<section id="accuracy"><h2>Accuracy</h2>',
        accuracy_section(report["fields"], report["overall"]["accuracy"]),
        "</section>",
        '<section id="errors"><h2>Error mix</h2>',
        errors_section(report["fields"]),
        "</section>",
        '<section id="means"><h2>Means</h2>',
        means_section(report["fields"]),
        "</section>",
    ]
    for b in breakdowns:
        body += [
            f'<section id="by-{html.escape(b["column"])}"><h2>By {html.escape(b["column"])}</h2>',
            breakdown_section(b),
            "</section>",
        ]
    method = report["method"]
    body += [
        '<section id="method" class="method"><h2>Method</h2>',
        f"<p><strong>Disclosure:</strong> {html.escape(method['disclosure'])}. "
        f"<strong>Accuracy:</strong> {html.escape(method['accuracy'])}. "
        f"<strong>Gold papers:</strong> {html.escape(method['gold'])}.</p>",
        "<p>The intervals are valid when the gold papers are the random sample the design "
        "drew (reviewed in sample order, none skipped for being hard); papers still waiting for "
        "a final answer are assumed missing at random within their stratum. They describe the "
        "corpus the sample was drawn from, not papers added since.</p>",
    ]
    if notes:
        body.append(
            "<ul>" + "".join(f'<li class="note">{html.escape(n)}</li>' for n in notes) + "</ul>"
        )
    body.append("</section>")
    body.append(
        f"<footer>Made by goldsmith {html.escape(version)} at {html.escape(generated_at)}; "
        "charts drawn with pygal.</footer>"
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
