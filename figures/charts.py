"""Charts drawn on the server as SVG: no script, colours in static/figures/figures.css.

Each chart is an image (``role="img"`` with a title); the table beside it carries the same numbers.
"""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 64


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    step = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * step:
            return factor * step
    return 10 * step


def _number(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f") if value >= 1 or value == 0 else f"{value:.1f}"


def stacked_bars(
    *, chart_id: str, title: str, categories: list[str], series: list[tuple[str, str, list]]
) -> SafeString:
    """Vertical bars, one per category, stacked by series (label, CSS class, values)."""
    totals = [sum(values[i] or 0 for _l, _c, values in series) for i in range(len(categories))]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(categories), 1)
    bar = slot * 0.7
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT + 16 + 24 * ((len(series) + 2) // 3)}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
    ]
    for step in range(5):
        value = top * step / 4
        y = TOP + plot_h - plot_h * step / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(value)}</text>')
    for i, category in enumerate(categories):
        x = LEFT + slot * i + (slot - bar) / 2
        y = TOP + plot_h
        for label, css, values in series:
            value = values[i] or 0
            if not value:
                continue
            h = plot_h * value / top
            y -= h
            parts.append(
                f'<rect class="{escape(css)}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}">'
                f"<title>{escape(category.replace(chr(10), ' '))} — {escape(label)} : {_number(value)}</title></rect>"
            )
        # A category may carry a second line ("janv.\n2026"): the year under the month.
        lines = category.split("\n")
        parts.append(
            f'<text class="axis" x="{x + bar / 2:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
            + "".join(
                f'<tspan x="{x + bar / 2:.1f}" dy="{0 if n == 0 else 14}">{escape(line)}</tspan>'
                for n, line in enumerate(lines)
            )
            + "</text>"
        )
    for index, (label, css, _values) in enumerate(series):
        x = LEFT + (index % 3) * (plot_w / 3)
        y = HEIGHT - BOTTOM + 56 + 24 * (index // 3)
        parts.append(f'<rect class="{escape(css)}" x="{x:.1f}" y="{y - 11}" width="14" height="14"/>')
        parts.append(f'<text class="legend" x="{x + 20:.1f}" y="{y}">{escape(label)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def horizontal_bars(
    *, chart_id: str, title: str, rows: list[tuple[str, list[tuple[str, str, float | None]]]], unit: str = ""
) -> SafeString:
    """One group of horizontal bars per row label: (label, [(series label, CSS class, value)])."""
    per_row = max((len(bars) for _label, bars in rows), default=1)
    bar_h, gap, label_w = 14, 14, 220
    keys = [(name, css) for name, css, _value in rows[0][1]] if rows else []
    legend = 28 if len(keys) > 1 else 0
    height = TOP + len(rows) * (per_row * bar_h + gap) + 8 + legend
    top = _nice_max(max((value or 0 for _l, bars in rows for _s, _c, value in bars), default=0))
    plot_w = WIDTH - label_w - RIGHT - 56
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
    ]
    y = TOP
    for label, bars in rows:
        parts.append(
            f'<text class="axis" x="{label_w - 8}" y="{y + per_row * bar_h / 2 + 4:.1f}" text-anchor="end">{escape(label)}</text>'
        )
        for series, css, value in bars:
            w = plot_w * (value or 0) / top
            parts.append(
                f'<rect class="{escape(css)}" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}">'
                f"<title>{escape(label)} — {escape(series)} : {_number(value or 0)}{escape(unit)}</title></rect>"
            )
            parts.append(
                f'<text class="value" x="{label_w + w + 4:.1f}" y="{y + bar_h - 4}">{_number(value or 0)}{escape(unit)}</text>'
            )
            y += bar_h
        y += gap
    if legend:
        for index, (name, css) in enumerate(keys):
            x = label_w + index * 180
            parts.append(f'<rect class="{escape(css)}" x="{x}" y="{y + 2}" width="14" height="14"/>')
            parts.append(f'<text class="legend" x="{x + 20}" y="{y + 14}">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
