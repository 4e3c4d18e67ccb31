"""Server-rendered SVG charts for the portal pages (no JavaScript, no inline style: the page's CSP allows
neither). Colours are the report's grade colours."""
from __future__ import annotations

from html import escape
from typing import Sequence

from ..render.common import GRADE_BAR_COLOURS

_PALETTE = ["#C00000", "#1F77B4", "#FF7F0E", "#2CA02C", "#9467BD", "#8C564B", "#E377C2", "#7F7F7F", "#BCBD22",
            "#17BECF"]


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def score_bars(rows: Sequence[dict], width: int = 760) -> str:
    """Horizontal bars, one per department (``name``, ``score``, ``grade``), in the order given."""
    label_w, bar_w, row_h = 300, width - 300 - 60, 22
    h = row_h * len(rows) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{h}" '
           f'viewBox="0 0 {width} {h}" role="img" aria-label="部门得分">']
    for x in (0, 60, 70, 80, 90, 100):
        gx = label_w + bar_w * x / 100
        out.append(f'<line x1="{gx:.1f}" y1="0" x2="{gx:.1f}" y2="{h - 20}" stroke="#ddd"/>'
                   f'<text x="{gx:.1f}" y="{h - 6}" font-size="11" text-anchor="middle" fill="#555">{x}</text>')
    for i, r in enumerate(rows):
        y = i * row_h + 4
        s = _num(r.get("score"))
        colour = "#" + GRADE_BAR_COLOURS.get(str(r.get("grade")), "A6A6A6")
        name = escape(str(r.get("name", "")))
        out.append(f'<text x="{label_w - 6}" y="{y + 14}" font-size="12" text-anchor="end">{name}</text>')
        if s is None:
            out.append(f'<text x="{label_w + 4}" y="{y + 14}" font-size="12" fill="#777">无法评分</text>')
            continue
        w = max(1.0, bar_w * max(0.0, min(100.0, s)) / 100)
        out.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}">'
                   f'<title>{name}：{s:.1f}（{escape(str(r.get("grade") or ""))}）</title></rect>'
                   f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="11">{s:.1f}</text>')
    out.append("</svg>")
    return "".join(out)


def trend_lines(periods: Sequence[str], series: dict[str, Sequence[float | None]], width: int = 760,
                height: int = 320) -> str:
    """One line per department over ``periods``; ``series``: name -> score per period (None: no score)."""
    left, right, top, bottom = 40, 200, 10, 40
    pw, ph = width - left - right, height - top - bottom
    n = max(1, len(periods) - 1)
    vals = [v for s in series.values() for v in s if _num(v) is not None]
    lo = min([60.0] + [float(v) for v in vals])
    lo = max(0.0, (int(lo) // 10) * 10.0)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + pw * (i / n if len(periods) > 1 else 0.5), top + ph * (1 - (v - lo) / (100 - lo or 1))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="得分趋势">']
    for k in range(6):
        v = lo + (100 - lo) * k / 5
        _, y = xy(0, v)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                   f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#555">{v:.0f}</text>')
    for i, p in enumerate(periods):
        x, _ = xy(i, lo)
        out.append(f'<text x="{x:.1f}" y="{height - bottom + 18}" font-size="11" text-anchor="middle">'
                   f'{escape(p)}</text>')
    for j, (name, s) in enumerate(series.items()):
        colour = _PALETTE[j % len(_PALETTE)]
        pts = [xy(i, float(v)) for i, v in enumerate(s) if _num(v) is not None]
        if len(pts) > 1:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                       + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
        for (x, y), v in zip(pts, [v for v in s if _num(v) is not None]):
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{escape(name)}：'
                       f'{float(v):.1f}</title></circle>')
        ly = top + 16 * j + 8
        out.append(f'<rect x="{left + pw + 12}" y="{ly - 8}" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{left + pw + 26}" y="{ly + 1}" font-size="11">{escape(name[:18])}</text>')
    out.append("</svg>")
    return "".join(out)


def default_followed(latest: dict[str, float | None], previous: dict[str, float | None],
                     grades: dict[str, str | None], n: int = 6) -> list[str]:
    """The departments auditors follow up by default: 不合格 first, then the largest falls, then the lowest."""
    def key(name: str):
        s = _num(latest.get(name))
        p = _num(previous.get(name))
        fall = (p - s) if (s is not None and p is not None) else 0.0
        return (0 if grades.get(name) == "不合格" else 1, -max(fall, 0.0), s if s is not None else -1.0, name)
    return sorted(latest, key=key)[:n]
