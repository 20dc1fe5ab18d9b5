"""A small document model rendered twice: Markdown beside its files, and self-contained HTML.

The report is built once as a list of blocks; `to_markdown` links images and artefacts by their
paths relative to the run directory, `to_html` inlines them as base64 data URIs (CSS inline too),
so `report.html` opens in a browser with nothing else around it. Text is plain text in both: a
series or model name holding `<script>` is escaped in the Markdown as in the HTML (a Markdown
viewer renders raw HTML).
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from diffrnn.paths import file_inside

_MIME = {".png": "image/png", ".wav": "audio/wav", ".svg": "image/svg+xml", ".jpg": "image/jpeg"}
MAX_INLINE_BYTES = 4 * 1024 * 1024
"""Artefacts larger than this are linked from the HTML instead of inlined."""


@dataclass(frozen=True)
class Heading:
    """A section title; level 1 is the document's title."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """Plain text; `emphasis` renders it bold (verdicts)."""

    text: str
    emphasis: bool = False


@dataclass(frozen=True)
class Bullets:
    """A bulleted list of plain-text items."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table of plain-text cells; `caption` is shown above it."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


@dataclass(frozen=True)
class Media:
    """An image (drawn) or another artefact (audio is playable, the rest linked).

    Attributes:
        title: shown under it.
        path: relative to the run directory.
    """

    title: str
    path: str


Tone = Literal["good", "bad", "mixed", "open", "muted"]
"""A tile's colour: green, red, amber, grey, and a dashed pale grey for "not counted"."""


@dataclass(frozen=True)
class Tile:
    """A coloured card.

    Attributes:
        label: a short id shown in its corner ("C3").
        title: one line on what it is about.
        status: the word its colour stands for ("holds").
        value: the number that decided it (after a dot coloured `value_tone`, when given), or
            the line that leads `findings`.
        note: a line at its foot, after a dot coloured `note_tone`.
        findings: the deciding findings under `value`, one per line, each shown whole.
    """

    label: str
    title: str
    status: str
    value: str
    tone: Tone
    note: str = ""
    note_tone: Tone = "muted"
    value_tone: Tone | None = None
    findings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tiles:
    """Cards in a grid, with a legend of their colours. HTML only: in Markdown the table that
    goes with them says the same in text."""

    tiles: tuple[Tile, ...]
    legend: tuple[tuple[str, Tone], ...] = ()


Block = Heading | Paragraph | Bullets | Table | Media | Tiles


def _md_text(text: str) -> str:
    """Plain text safe in Markdown: HTML in it is shown, not interpreted."""
    return html.escape(text, quote=False)


def _md_cell(text: str) -> str:
    return _md_text(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block]) -> str:
    """The blocks as GitHub-flavoured Markdown (media linked by relative path)."""
    out: list[str] = []
    for block in blocks:
        match block:
            case Heading(text, level):
                out.append(f"{'#' * level} {_md_text(text)}")
            case Paragraph(text, emphasis):
                out.append(f"**{_md_text(text)}**" if emphasis else _md_text(text))
            case Bullets(items):
                out.append("\n".join(f"- {_md_text(item)}" for item in items))
            case Table(headers, rows, caption):
                lines = [f"*{_md_text(caption)}*", ""] if caption else []
                lines.append("| " + " | ".join(_md_cell(h) for h in headers) + " |")
                lines.append("|" + "---|" * len(headers))
                lines.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows)
                out.append("\n".join(lines))
            case Media(title, path):
                label = _md_text(title).replace("[", "\\[").replace("]", "\\]")
                target = path.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
                if Path(path).suffix.lower() in (".png", ".jpg", ".svg"):
                    out.append(f"![{label}]({target})")
                else:
                    out.append(f"[{label}]({target})")
            case Tiles():
                pass  # the table rendered beside the tiles carries their text
    return "\n\n".join(out) + "\n"


_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto;
       max-width: 75rem; padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; padding-bottom: .3rem; }
h2 { border-bottom: 1px solid #bbb; padding-bottom: .2rem; margin-top: 2.2rem; }
table { border-collapse: collapse; margin: .6rem 0 1.2rem; font-size: .88rem; }
caption { caption-side: top; text-align: left; font-style: italic; padding-bottom: .3rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f3; }
tr:nth-child(even) td { background: #fafafa; }
figure { display: inline-block; margin: .5rem 1rem .5rem 0; vertical-align: top; }
figure img { max-width: 36rem; border: 1px solid #ddd; }
figcaption { font-size: .8rem; color: #555; }
p.verdict { font-weight: 600; background: #eef6ee; padding: .4rem .6rem; }
.tiles { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: .5rem;
         margin: .4rem 0 .3rem; }
.tile { border: 1px solid; border-left-width: 6px; border-radius: 4px; padding: .35rem .5rem;
        display: flex; flex-direction: column; gap: .15rem; min-height: 9.6rem;
        font-size: .8rem; line-height: 1.25; overflow-wrap: break-word; }
.tile-head { display: flex; justify-content: space-between; align-items: baseline; gap: .3rem; }
.tile-id { font-weight: 700; font-size: .95rem; white-space: nowrap; }
.tile-status { font-weight: 700; text-transform: uppercase; font-size: .68rem;
               letter-spacing: .03em; text-align: right; }
.tile-title { font-weight: 600; }
.tile-value { font-variant-numeric: tabular-nums; color: #222; flex: 1; }
.tile-findings { margin: .1rem 0 0; padding-left: .9rem; }
.tile-findings li { margin: 0; }
.tile-note { color: #444; font-size: .74rem; border-top: 1px solid rgba(0,0,0,.12);
             padding-top: .15rem; }
.dot { display: inline-block; width: .6rem; height: .6rem; border-radius: 50%;
       margin-right: .3rem; vertical-align: baseline; border: 1px solid #888; }
.tone-good { background: #e7f4e8; border-color: #2e7d32; }
.tone-good .tile-status { color: #1b5e20; }
.tone-bad { background: #fdeaea; border-color: #c62828; }
.tone-bad .tile-status { color: #b71c1c; }
.tone-mixed { background: #fff3e0; border-color: #ef6c00; }
.tone-mixed .tile-status { color: #b54d00; }
.tone-open { background: #f1f1f1; border-color: #757575; }
.tone-open .tile-status { color: #424242; }
.tone-muted { background: #f7f8fa; border-color: #b0b7c3; border-style: dashed;
              border-left-style: solid; }
.tone-muted .tile-status { color: #5f6b7a; }
.dot.tone-good { background: #2e7d32; } .dot.tone-bad { background: #c62828; }
.dot.tone-mixed { background: #ef6c00; } .dot.tone-open { background: #9e9e9e; }
.tile.tone-muted .tile-value { color: #333; }
.dot.tone-muted { background: #fff; border-style: dashed; }
.legend { font-size: .75rem; color: #444; margin: 0 0 .6rem; }
.legend span { margin-right: .9rem; white-space: nowrap; }
"""


def _data_uri(root: Path, relative: str) -> str | None:
    """The file as a data URI; None if it is too large, missing, or not inside `root`."""
    file = file_inside(root, relative)
    if file is None or file.stat().st_size > MAX_INLINE_BYTES:
        return None
    mime = _MIME.get(file.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(file.read_bytes()).decode()}"


def _html_media(block: Media, root: Path) -> str:
    title, suffix = html.escape(block.title), Path(block.path).suffix.lower()
    uri = _data_uri(root, block.path)
    if uri is None:
        return f'<p>{title}: <a href="{html.escape(block.path)}">{html.escape(block.path)}</a></p>'
    if suffix in (".png", ".jpg", ".svg"):
        body = f'<img src="{uri}" alt="{title}">'
    elif suffix == ".wav":
        body = f'<audio controls src="{uri}"></audio>'
    else:
        body = f'<a download="{html.escape(Path(block.path).name)}" href="{uri}">download</a>'
    return f"<figure>{body}<figcaption>{title}</figcaption></figure>"


def _html_tiles(block: Tiles) -> str:
    e = html.escape
    cards = []
    for t in block.tiles:
        dot = f'<span class="dot tone-{t.value_tone}"></span>' if t.value_tone else ""
        note = (
            f'<div class="tile-note"><span class="dot tone-{t.note_tone}"></span>{e(t.note)}</div>'
            if t.note
            else ""
        )
        findings = "".join(f"<li>{e(f)}</li>" for f in t.findings)
        cards.append(
            f'<div class="tile tone-{t.tone}"><div class="tile-head">'
            f'<span class="tile-id">{e(t.label)}</span>'
            f'<span class="tile-status">{e(t.status)}</span></div>'
            f'<div class="tile-title">{e(t.title)}</div>'
            f'<div class="tile-value">{dot}{e(t.value)}'
            + (f'<ul class="tile-findings">{findings}</ul>' if findings else "")
            + f"</div>{note}</div>"
        )
    legend = "".join(
        f'<span><span class="dot tone-{tone}"></span>{e(name)}</span>'
        for name, tone in block.legend
    )
    return f'<div class="tiles">{"".join(cards)}</div>' + (
        f'<p class="legend">{legend}</p>' if legend else ""
    )


def to_html(blocks: list[Block], root: Path, title: str) -> str:
    """The blocks as one HTML page with every image and artefact under `root` inlined."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
    ]
    for block in blocks:
        match block:
            case Heading(text, level):
                out.append(f"<h{level}>{html.escape(text)}</h{level}>")
            case Paragraph(text, emphasis):
                css = ' class="verdict"' if emphasis else ""
                out.append(f"<p{css}>{html.escape(text)}</p>")
            case Bullets(items):
                out.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>")
            case Table(headers, rows, caption):
                head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
                body = "".join(
                    "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                    for row in rows
                )
                cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
                out.append(
                    f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                )
            case Media():
                out.append(_html_media(block, root))
            case Tiles():
                out.append(_html_tiles(block))
    out.append("</body></html>")
    return "\n".join(out) + "\n"
