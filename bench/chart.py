#!/usr/bin/env python3
"""Draws docs/benchmarks.svg from a bench/load.sh result file (standard library only).

    python3 bench/chart.py [bench/results/latest.json] [docs/benchmarks.svg]

Two panels: request rates with keep-alive against the server's own /healthz (the TLS and HTTP
stack's ceiling), and clear-text throughput of 1 MiB requests against the seal throughput
criterion measured on the same machine, with each target drawn as a line.
"""

import json
import sys
from html import escape

source = sys.argv[1] if len(sys.argv) > 1 else "bench/results/latest.json"
target = sys.argv[2] if len(sys.argv) > 2 else "docs/benchmarks.svg"
report = json.load(open(source))
by = {r["test"]: r for r in report["results"]}

WIDTH, BAR, GAP, LABEL, LEFT = 760, 22, 8, 250, 16
COLORS = {"h1": "#2f6fb0", "h2": "#6aa84f", "ref": "#999999", "new": "#c27c0e"}
out = []
y = 0


def text(x, y, s, size=13, anchor="start", weight="normal", fill="#222"):
    out.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
               f'font-weight="{weight}" fill="{fill}">{escape(s)}</text>')


def panel(title, subtitle, rows, unit, lines=()):
    """rows: (label, value, color); lines: (label, value) drawn as dashed verticals."""
    global y
    y += 28
    text(LEFT, y, title, 16, weight="bold")
    y += 18
    text(LEFT, y, subtitle, 12, fill="#555")
    y += 14
    top = y
    scale_max = max([v for _, v, _ in rows if v] + [v for _, v in lines]) * 1.15
    span = WIDTH - LEFT - LABEL - 20
    for label, value, color in rows:
        text(LEFT + LABEL - 8, y + BAR * 0.72, label, anchor="end")
        if value:
            w = span * value / scale_max
            out.append(f'<rect x="{LEFT + LABEL}" y="{y}" width="{w:.1f}" height="{BAR}" fill="{COLORS[color]}" rx="2"/>')
            text(LEFT + LABEL + w + 6, y + BAR * 0.72, f"{value:,.0f} {unit}", 12)
        y += BAR + GAP
    for label, value in lines:
        x = LEFT + LABEL + span * value / scale_max
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{y}" stroke="#d33" stroke-width="1.5" stroke-dasharray="5,4"/>')
        text(x, y + 14, label, 11, anchor="middle", fill="#d33")
    y += 22


def rate(name):
    r = by.get(name, {})
    return r.get("requests_per_s") or r.get("connections_per_s")


panel("Requests per second (keep-alive, 32 HTTP/1.1 connections or 8 HTTP/2 × 16 streams)",
      "POST carries 64 bytes of clear text; GET /healthz is the same server's stack reference",
      [("GET /healthz, HTTP/1.1", rate("healthz-h1"), "ref"),
       ("POST 64 B, HTTP/1.1", rate("post64-h1"), "h1"),
       ("GET /healthz, HTTP/2", rate("healthz-h2"), "ref"),
       ("POST 64 B, HTTP/2", rate("post64-h2"), "h2"),
       ("new TLS connection each", rate("new-connections"), "new")],
      "req/s",
      [("0.85 × /healthz (HTTP/1.1)", 0.85 * rate("healthz-h1"))] if rate("healthz-h1") else [])

seal = by.get("criterion-seal-1mib", {}).get("mb_per_s")
panel("Clear-text throughput of 1 MiB requests (MB/s)",
      "against AES-256-GCM seal alone (criterion, same machine); target: at least 0.2 × seal",
      [("seal, in process (criterion)", seal, "ref"),
       ("POST 1 MiB, HTTP/1.1", by.get("post1m-h1", {}).get("clear_mb_per_s"), "h1"),
       ("POST 1 MiB, HTTP/2", by.get("post1m-h2", {}).get("clear_mb_per_s"), "h2")],
      "MB/s",
      [("0.2 × seal", 0.2 * seal)] if seal else [])

m = report["machine"]
y += 6
text(LEFT, y, f"{m['cpu']}, {m['cores']} cores ({', '.join(m['cpu_features'])}), load generator on the same "
     f"machine; {m['gcm_oracle']}, {m['date']}", 11, fill="#555")
y += 12
svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y}" viewBox="0 0 {WIDTH} {y}" '
       f'font-family="Helvetica, Arial, sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n'
       + "\n".join(out) + "\n</svg>\n")
open(target, "w").write(svg)
print(f"wrote {target}")
