"""The HTML report: one self-contained page that holds a whole results folder.

``write_report(folder)`` writes ``folder/report.html``: the question (scenario name and description),
the key outcomes with their 95% confidence intervals (side by side with the paired differences for a
comparison), every chart in ``charts/`` embedded as a data: URI, the resolved scenario and the manifest.
Nothing in it points outside the file (no scripts, fonts, stylesheets or links), so it can be mailed,
archived or attached to a board submission and will look the same offline. All text is escaped.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pandas as pd

from sim.formatting import format_number
from sim.metrics import KEY_OUTCOMES
from sim.outcomes import meaning
from sim.plots import caption, chart_order
from sim.plots.data import FolderData

CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d1d1d;background:#fafafa}
main{max-width:1180px;margin:0 auto;padding:1.2rem 1rem 3rem;background:#fff}
h1{font-size:1.6rem;line-height:1.25;margin:.4rem 0}
h2{font-size:1.2rem;margin:2rem 0 .6rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
p.lead{font-size:1.05rem;color:#333}
.meta{color:#666;font-size:.9rem}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.5rem 0}
table{border-collapse:collapse;font-size:.9rem;min-width:100%}
th,td{padding:.3rem .6rem;border-bottom:1px solid #e4e4e4;text-align:right;white-space:nowrap;vertical-align:top}
th{background:#f2f2f2;white-space:normal;min-width:6em}
th:first-child,td:first-child{text-align:left;white-space:normal;overflow-wrap:anywhere;min-width:10em;max-width:16em;
position:sticky;left:0;background:#fff;z-index:1}
th:first-child{background:#f2f2f2}
.ci{color:#555;font-size:.85em}
td.clear{font-weight:600}
figure{margin:1.2rem 0 2rem}
figure img{width:100%;height:auto;display:block;border:1px solid #eee}
figcaption{color:#555;font-size:.9rem;margin-top:.4rem}
details{margin:.6rem 0}
summary{cursor:pointer;font-weight:600}
pre{background:#f6f6f6;padding:.8rem;overflow-x:auto;font-size:.8rem;line-height:1.35}
nav a{margin-right:.8rem}
@media (max-width:600px){body{font-size:15px}main{padding:.8rem .6rem}h1{font-size:1.3rem}th,td{padding:.25rem .4rem}
th:first-child,td:first-child{min-width:6em;max-width:9em;font-size:.85em}code{overflow-wrap:anywhere}}
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _num(value) -> str:
    """A number as people read it, or the escaped value when it is not a number."""
    try:
        return format_number(value)
    except (TypeError, ValueError):
        return _e(value)


def _count(value) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "-"


def _ci(low, high) -> str:
    return f"{_num(low)} .. {_num(high)}"


def _name(outcome) -> str:
    """An outcome's name, escaped, that may break after each underscore in a narrow column, with what it means
    (``sim.outcomes``) shown on hover."""
    name = "_<wbr>".join(_e(part) for part in str(outcome).split("_"))
    text = meaning(str(outcome))
    return f'<span title="{_e(text.replace("`", ""))}">{name}</span>' if text else name


def _estimate(mean, low, high) -> str:
    """A mean with its interval beneath it (narrow enough for a phone); "-" when it is not defined."""
    if pd.isna(mean):
        return "-"
    return f'{_num(mean)}<br><span class="ci">[{_ci(low, high)}]</span>'



def _table(header: list[str], rows: list[list[str]], classes: list[list[str]] | None = None) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = classes[i] if classes else [""] * len(row)
        body.append("<tr>" + "".join(f'<td class="{c}">{cell}</td>' if c else f"<td>{cell}</td>"
                                     for cell, c in zip(row, cls)) + "</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _key(outcomes_available, outcomes: list[str] | None) -> list[str]:
    available = list(dict.fromkeys(outcomes_available))
    if outcomes:
        return [o for o in outcomes if o in available]
    chosen = [o for o in KEY_OUTCOMES if o in available]
    return chosen + [o for o in available if str(o).startswith("tracked_") and o not in chosen]


def summary_section(data: FolderData, outcomes: list[str] | None = None) -> str:
    """The key outcomes with their 95% CIs (a run), or side by side with paired differences (a comparison)."""
    comparison = data.table("comparison.csv")
    if comparison is not None:
        return _comparison_table(comparison, outcomes)
    summary = data.table("summary.csv")
    if summary is None or "outcome" not in summary.columns:
        return ""
    rows = summary.set_index("outcome")
    def lines(names):
        return [[_name(n), _num(rows.loc[n, "mean"]), _ci(rows.loc[n, "ci_low"], rows.loc[n, "ci_high"]),
                 _count(rows.loc[n, "n"])] for n in names]
    header = ["outcome", "mean", "95% CI", "n"]
    key = _key(rows.index, outcomes)
    others = [o for o in rows.index if o not in key]
    text = "<h2 id=\"outcomes\">Key outcomes</h2>" + _table(header, lines(key))
    if others:
        text += f"<details><summary>All {len(rows)} outcomes</summary>{_table(header, lines(list(rows.index)))}</details>"
    return text


def _comparison_table(table: pd.DataFrame, outcomes: list[str] | None) -> str:
    scenarios = list(dict.fromkeys(table.scenario))
    reference = scenarios[0]
    header = ["outcome", *[f"{s} mean [95% CI]" for s in scenarios],
              *[f"{s} - {reference} [95% CI]" for s in scenarios[1:]]]

    def rows_for(names):
        rows, classes = [], []
        for outcome in names:
            part = table[table.outcome == outcome].set_index("scenario")
            row, cls = [_name(outcome)], [""]
            for s in scenarios:
                r = part.loc[s] if s in part.index else None
                row.append("-" if r is None else _estimate(r["mean"], r.ci_low, r.ci_high))
                cls.append("")
            for s in scenarios[1:]:
                r = part.loc[s] if s in part.index else None
                if r is None:
                    row.append("-"), cls.append("")
                    continue
                row.append(_estimate(r.diff_mean, r.diff_low, r.diff_high))
                clear = (r.diff_low > 0 or r.diff_high < 0) if pd.notna(r.diff_low) and pd.notna(r.diff_high) else False
                cls.append("clear" if clear else "")
            rows.append(row), classes.append(cls)
        return rows, classes

    key = _key(table.outcome, outcomes)
    text = ("<h2 id=\"outcomes\">Key outcomes, side by side</h2>"
            f"<p>Differences are paired (common random numbers) against <b>{_e(reference)}</b>; "
            "bold differences have a 95% interval that excludes zero.</p>")
    text += _table(header, *rows_for(key))
    everything = list(dict.fromkeys(table.outcome))
    if len(everything) > len(key):
        text += f"<details><summary>All {len(everything)} outcomes</summary>{_table(header, *rows_for(everything))}</details>"
    return text


def calibration_section(data: FolderData) -> str:
    """A calibration's posterior (median and 90% interval of each parameter, against its prior), its posterior
    predictive check (each target simulated under the posterior against the observed value) and the
    calibrated scenario (calibrated.yaml)."""
    posterior, predictive = data.table("posterior.csv"), data.table("predictive.csv")
    if posterior is None:
        return ""
    from sim.calibration.priors import readable_duration

    def shown(row, value) -> str:
        return readable_duration(float(value)) if row.get("unit") == "h" else _num(value)

    rows = [[_e(r["parameter"]), _e(r["prior"]), shown(r, r["median"]),
             f"{shown(r, r['q05'])} .. {shown(r, r['q95'])}", f"{float(r['width_share']):.0%}"]
            for r in posterior.to_dict("records")]
    text = ('<h2 id="calibration">Calibration</h2><p>Each parameter&#39;s weighted posterior median and 90% interval '
            "(the last generation of ABC-SMC). <em>Width</em> is the interval's share of the prior's range (on its "
            "scale): near 90%, the targets do not identify the parameter.</p>"
            + _table(["parameter", "prior", "median", "90% interval", "width"], rows))
    if predictive is not None:
        lines = [[_e(r["target"]), _num(r["observed"]) + ("" if r["bound"] == "equal" else f" ({_e(r['bound'])})"),
                  _num(r["tolerance"]), _num(r["median"]), f"{_num(r['q05'])} .. {_num(r['q95'])}",
                  f"{float(r['within_tolerance']):.0%}", f"{int(r['defined'])} of {int(r['draws'])}"]
                 for r in predictive.to_dict("records")]
        text += ("<p>Posterior predictive check: each target in replications at particles drawn from the posterior."
                 "</p>" + _table(["target", "observed", "tolerance", "simulated median", "5-95%", "within tolerance",
                                  "defined"], lines))
    calibrated = _text_file(data.folder, "calibrated.yaml")
    if calibrated:
        text += ("<details><summary>The calibrated scenario (calibrated.yaml)</summary>"
                 f"<pre>{_e(calibrated)}</pre></details>")
    return text


def chart_files(folder: Path) -> list[Path]:
    """The charts of a folder in reading order: the SVG of each chart, or its PNG when there is no SVG."""
    charts = folder / "charts"
    if not charts.is_dir():
        return []
    stems = {}
    for path in charts.iterdir():
        if path.suffix == ".svg" or (path.suffix == ".png" and path.stem not in stems):
            stems[path.stem] = path
    return sorted(stems.values(), key=lambda p: (chart_order(p.stem), p.stem))


def _embed(path: Path) -> str:
    mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:{mime};base64,{data}"


def charts_section(folder: Path) -> str:
    """Every chart of the folder, embedded (data: URI) with its caption."""
    parts = []
    for path in chart_files(folder):
        label = path.stem.replace("_", " ")
        parts.append(f'<figure id="chart-{_e(path.stem)}"><img src="{_embed(path)}" alt="{_e(label)}" loading="lazy">'
                     f"<figcaption>{_e(caption(path.stem))}</figcaption></figure>")
    return ('<h2 id="charts">Charts</h2>' + "".join(parts)) if parts else ""


def _text_file(folder: Path, name: str) -> str | None:
    try:
        return (folder / name).read_text(errors="replace")
    except OSError:
        return None


def write_report(folder: str | Path, outcomes: list[str] | None = None) -> Path:
    """Write ``folder/report.html``, one self-contained page holding the whole results folder; return its path."""
    folder = Path(folder)
    data = FolderData(folder)
    scenario, manifest = data.scenario, data.manifest
    name = data.name
    description = scenario.get("description") or ""
    command = manifest.get("command_line") or ""
    meta = " · ".join(_e(x) for x in (
        manifest.get("command") and f"modsim {manifest.get('command')}",
        manifest.get("replications") and f"{manifest.get('replications')} replications",
        manifest.get("seed") is not None and f"seed {manifest.get('seed')}",
        manifest.get("finished_utc") and f"finished {str(manifest.get('finished_utc'))[:19]} UTC",
        manifest.get("modsim_version") and f"modsim {manifest.get('modsim_version')}",
    ) if x)
    body = [f"<h1>{_e(name)}</h1>"]
    if description:
        body.append(f'<p class="lead">{_e(description)}</p>')
    if meta:
        body.append(f'<p class="meta">{meta}</p>')
    if command:
        body.append(f'<p class="meta"><code>{_e(command)}</code></p>')
    body.append('<nav class="meta"><a href="#outcomes">outcomes</a><a href="#charts">charts</a>'
                '<a href="#scenario">scenario</a><a href="#manifest">manifest</a></nav>')
    body.append(summary_section(data, outcomes))
    body.append(calibration_section(data))
    body.append(charts_section(folder))
    scenario_text = _text_file(folder, "scenario.yaml")
    if scenario_text:
        body.append('<h2 id="scenario">Scenario</h2><details><summary>The resolved scenario (scenario.yaml)</summary>'
                    f"<pre>{_e(scenario_text)}</pre></details>")
    if manifest:
        body.append('<h2 id="manifest">Manifest</h2><details><summary>How this folder was made (manifest.json)'
                    f"</summary><pre>{_e(json.dumps(manifest, indent=2, default=str))}</pre></details>")
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(name)}: modsim report</title><style>{CSS}</style></head>"
            f"<body><main>{''.join(body)}</main></body></html>\n")
    target = folder / "report.html"
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)
    return target
