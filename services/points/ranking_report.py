"""The ranking export: every page of a GetRanking answer as CSV, or as one self-contained HTML report.

The HTML report needs nothing from the network: its styles, data and the script that draws
each peer group's distribution of points (a histogram, with the top and bottom cut-off lines)
are inline, and the table is plain HTML, so it reads without the script too.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Sequence

from points.v1 import directory_pb2, rankings_pb2

CSV_COLUMNS = (
    "period", "role", "peer_grouping", "peer_group", "ranked_within", "group_size", "rank", "percentile", "employee_id",
    "total", "flag", "unresolved_tie", "negative_events", "membership",
)  # fmt: skip
FLAG_NAMES = {rankings_pb2.RANKING_FLAG_TOP: "TOP", rankings_pb2.RANKING_FLAG_BOTTOM: "BOTTOM"}
TEXT_CELL = ' class="text"'


def _role(value: int) -> str:
    return directory_pb2.Role.Name(value).removeprefix("ROLE_").lower()


def _grouping(value: int) -> str:
    return rankings_pb2.PeerGrouping.Name(value).removeprefix("PEER_GROUPING_").lower()


def dimension_names(rows: Sequence[rankings_pb2.RankingRow]) -> list[str]:
    return sorted({d.dimension for row in rows for d in row.dimensions})


def csv_record(first: rankings_pb2.GetRankingResponse, row: rankings_pb2.RankingRow, dimensions: Sequence[str]) -> dict[str, str]:
    """One row as the CSV writes it (and as a re-import reads it back)."""
    record = {
        "period": first.period,
        "role": _role(first.role),
        "peer_grouping": _grouping(first.peer_group),
        "peer_group": row.peer_group.key,
        "ranked_within": row.ranked_within.key,
        "group_size": str(row.group_size),
        "rank": str(row.rank),
        "percentile": row.percentile,
        "employee_id": row.employee_id,
        "total": row.total,
        "flag": FLAG_NAMES.get(row.flag, ""),
        "unresolved_tie": "yes" if row.unresolved_tie else "",
        "negative_events": str(row.negative_events) if row.HasField("negative_events") else "",
        "membership": row.membership,
    }
    points = {d.dimension: d for d in row.dimensions}
    for name in dimensions:
        found = points.get(name)
        record[f"{name}_points"] = found.points if found else ""
        record[f"{name}_weighted"] = found.weighted_points if found else ""
    return record


def to_csv(pages: Sequence[rankings_pb2.GetRankingResponse]) -> str:
    rows = [row for page in pages for row in page.rows]
    dimensions = dimension_names(rows)
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=[*CSV_COLUMNS, *(f"{d}_{x}" for d in dimensions for x in ("points", "weighted"))], lineterminator="\n"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow(csv_record(pages[0], row, dimensions))
    return out.getvalue()


def element_id(key: str) -> str:
    """A peer group key as an HTML id fragment ("A/north" -> "A-north")."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-") or "group"


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d2733; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2.5rem; }
.rules li { margin: .15rem 0; } .note { color: #6a5d00; }
svg.chart { border: 1px solid #d5dbe3; background: #fbfcfe; }
svg .bar { fill: #7aa6d8; } svg .axis { stroke: #55606e; stroke-width: 1; }
svg .tick { font-size: 10px; fill: #55606e; } svg .label { font-size: 11px; }
svg .cutoff { stroke-width: 2; stroke-dasharray: 6 3; }
svg .cutoff-top { stroke: #1a7f37; } svg .cutoff-bottom { stroke: #c62828; }
table { border-collapse: collapse; margin-top: .75rem; }
th, td { border: 1px solid #d5dbe3; padding: .2rem .5rem; text-align: right; }
th { background: #eef2f7; } td.text { text-align: left; }
tr.TOP td { background: #e6f4ea; } tr.BOTTOM td { background: #fdecea; }
"""

# Draws every chart from the JSON data, then records where each cut-off line landed on screen,
# so a test (or a reader of the DOM) can see the lines were laid out, not only written.
SCRIPT = """
(function () {
  var data = JSON.parse(document.getElementById("ranking-data").textContent);
  var NS = "http://www.w3.org/2000/svg", W = 720, H = 220, L = 48, R = 16, T = 16, B = 36, BINS = 20;
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    parent.appendChild(e); return e;
  }
  var drawn = 0;
  data.groups.forEach(function (g) {
    var svg = document.getElementById("chart-" + g.id);
    if (!svg) return;
    var values = g.totals.slice();
    [g.top_line, g.bottom_line].forEach(function (v) { if (v !== null) values.push(v); });
    var lo = Math.min.apply(null, values.concat([0])), hi = Math.max.apply(null, values.concat([0]));
    if (hi === lo) { hi = lo + 1; }
    var x = function (v) { return L + (v - lo) / (hi - lo) * (W - L - R); };
    var counts = new Array(BINS).fill(0);
    g.totals.forEach(function (v) { counts[Math.min(BINS - 1, Math.floor((v - lo) / (hi - lo) * BINS))] += 1; });
    var most = Math.max.apply(null, counts.concat([1]));
    counts.forEach(function (n, i) {
      var h = n / most * (H - T - B);
      el("rect", {"class": "bar", x: x(lo + i * (hi - lo) / BINS) + 1, y: H - B - h,
                  width: Math.max(1, (W - L - R) / BINS - 2), height: h, "data-count": n}, svg);
    });
    el("line", {"class": "axis", x1: L, x2: W - R, y1: H - B, y2: H - B}, svg);
    el("line", {"class": "axis", x1: L, x2: L, y1: T, y2: H - B}, svg);
    [lo, (lo + hi) / 2, hi].forEach(function (v) {
      el("text", {"class": "tick", x: x(v), y: H - B + 14, "text-anchor": "middle"}, svg).textContent = v.toFixed(1);
    });
    el("text", {"class": "tick", x: L - 6, y: T + 8, "text-anchor": "end"}, svg).textContent = most;
    el("text", {"class": "label", x: (W + L) / 2, y: H - 4, "text-anchor": "middle"}, svg).textContent =
      "comprehensive points (" + g.totals.length + " members)";
    [["top", g.top_line], ["bottom", g.bottom_line]].forEach(function (pair) {
      if (pair[1] === null) return;
      var line = el("line", {"class": "cutoff cutoff-" + pair[0], id: "cutoff-" + pair[0] + "-" + g.id,
                             x1: x(pair[1]), x2: x(pair[1]), y1: T, y2: H - B, "data-points": pair[1]}, svg);
      var right = x(pair[1]) > W / 2;  // label on the side with room
      el("text", {"class": "label", x: x(pair[1]) + (right ? -4 : 4), y: T + (pair[0] === "top" ? 10 : 24),
                  "text-anchor": right ? "end" : "start"}, svg).textContent = pair[0] + " line " + pair[1];
      var box = line.getBoundingClientRect(), frame = svg.getBoundingClientRect();
      line.setAttribute("data-rendered-x", (box.left + box.width / 2 - frame.left).toFixed(1));
      line.setAttribute("data-rendered-height", box.height.toFixed(1));
    });
    svg.setAttribute("data-drawn", "yes");
    drawn += 1;
  });
  document.body.setAttribute("data-charts-drawn", String(drawn));
})();
"""


def to_html(pages: Sequence[rankings_pb2.GetRankingResponse]) -> str:
    first = pages[0]
    rows = [row for page in pages for row in page.rows]
    dimensions = dimension_names(rows)
    role, grouping = _role(first.role), _grouping(first.peer_group)
    by_group: dict[str, list[rankings_pb2.RankingRow]] = {}
    for row in rows:
        by_group.setdefault(row.peer_group.key, []).append(row)
    data = {
        "groups": [
            {
                "id": element_id(g.group.key),
                "key": g.group.key,
                "totals": [float(r.total) for r in by_group.get(g.group.key, [])],
                "top_line": float(g.top_line) if g.top_line else None,
                "bottom_line": float(g.bottom_line) if g.bottom_line else None,
            }
            for g in first.groups
        ]
    }
    e = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Ranking {e(first.period)} {e(role)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Ranking {e(first.period)}: {e(role)}, peer groups by {e(grouping.replace('_', ' and '))}</h1>",
        f"<p>Rules of policy {e(first.rules.policy_version)} (in force on {e(first.rules.in_force_on)}); "
        f"log position {first.position}; {len(rows)} members.</p>",
        '<section class="rules"><ul>',
        *(f"<li>{e(s)}</li>" for s in first.rules.statements),
        "</ul></section>",
    ]
    for group in first.groups:
        key, gid = group.group.key, element_id(group.group.key)
        lines = f"top line {group.top_line or '-'} ({group.top_quota}), bottom line {group.bottom_line or '-'} ({group.bottom_quota})"
        parts += [
            f'<section class="group" id="group-{gid}" data-group="{e(key)}">',
            f"<h2>{e(key)}: {group.size} members</h2>",
            f"<p>Ranked within {e(group.ranked_within.key)} ({group.ranked_within_size}); {e(lines)}.</p>",
            f'<p class="note">{e(group.note)}</p>' if group.note else "",
            f'<figure><svg class="chart" id="chart-{gid}" data-group="{e(key)}" width="720" height="220" '
            f'viewBox="0 0 720 220" role="img" aria-label="distribution of points in {e(key)}"></svg></figure>',
            _table(by_group.get(key, []), dimensions),
            "</section>",
        ]
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    parts += [f'<script type="application/json" id="ranking-data">{payload}</script>', f"<script>{SCRIPT}</script>", "</body></html>"]
    return "\n".join(p for p in parts if p) + "\n"


def _table(rows: Sequence[rankings_pb2.RankingRow], dimensions: Sequence[str]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in ("rank", "percentile", "employee", "total", *dimensions, "flag", "membership"))
    body = []
    for row in rows:
        points = {d.dimension: d.weighted_points for d in row.dimensions}
        flag = FLAG_NAMES.get(row.flag, "") + (" (tie unresolved)" if row.unresolved_tie else "")
        cells = [str(row.rank), row.percentile, row.employee_id, row.total, *(points.get(d, "") for d in dimensions)]
        body.append(
            f'<tr class="{FLAG_NAMES.get(row.flag, "")}">'
            + "".join(f"<td{TEXT_CELL if i == 2 else ''}>{e(c)}</td>" for i, c in enumerate(cells))
            + f'<td class="text">{e(flag)}</td><td class="text">{e(row.membership)}</td></tr>'
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
