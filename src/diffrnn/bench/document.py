"""A small document model rendered twice: Markdown beside its files, and self-contained HTML.

The report is built once as a list of blocks; `to_markdown` links images and artefacts by their
paths relative to the run directory, `to_html` inlines them as base64 data URIs (CSS inline too),
so `report.html` opens in a browser with nothing else around it.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

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


Block = Heading | Paragraph | Bullets | Table | Media


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block]) -> str:
    """The blocks as GitHub-flavoured Markdown (media linked by relative path)."""
    out: list[str] = []
    for block in blocks:
        match block:
            case Heading(text, level):
                out.append(f"{'#' * level} {text}")
            case Paragraph(text, emphasis):
                out.append(f"**{text}**" if emphasis else text)
            case Bullets(items):
                out.append("\n".join(f"- {item}" for item in items))
            case Table(headers, rows, caption):
                lines = [f"*{caption}*", ""] if caption else []
                lines.append("| " + " | ".join(_md_cell(h) for h in headers) + " |")
                lines.append("|" + "---|" * len(headers))
                lines.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows)
                out.append("\n".join(lines))
            case Media(title, path):
                if Path(path).suffix.lower() in (".png", ".jpg", ".svg"):
                    out.append(f"![{title}]({path})")
                else:
                    out.append(f"[{title}]({path})")
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
"""


def _data_uri(file: Path) -> str | None:
    if not file.is_file() or file.stat().st_size > MAX_INLINE_BYTES:
        return None
    mime = _MIME.get(file.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(file.read_bytes()).decode()}"


def _html_media(block: Media, root: Path) -> str:
    title, suffix = html.escape(block.title), Path(block.path).suffix.lower()
    uri = _data_uri(root / block.path)
    if uri is None:
        return f'<p>{title}: <a href="{html.escape(block.path)}">{html.escape(block.path)}</a></p>'
    if suffix in (".png", ".jpg", ".svg"):
        body = f'<img src="{uri}" alt="{title}">'
    elif suffix == ".wav":
        body = f'<audio controls src="{uri}"></audio>'
    else:
        body = f'<a download="{html.escape(Path(block.path).name)}" href="{uri}">download</a>'
    return f"<figure>{body}<figcaption>{title}</figcaption></figure>"


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
    out.append("</body></html>")
    return "\n".join(out) + "\n"
