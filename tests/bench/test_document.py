"""The document model: text stays text in Markdown as in HTML; tiles are drawn in HTML only."""

from __future__ import annotations

from pathlib import Path

from diffrnn.bench.document import (
    Bullets,
    Heading,
    Media,
    Paragraph,
    Table,
    Tile,
    Tiles,
    to_html,
    to_markdown,
)

HOSTILE = "<script>alert('x')</script> & <b>"


def test_markdown_escapes_html_in_every_block() -> None:
    md = to_markdown(
        [
            Heading(HOSTILE),
            Paragraph(HOSTILE),
            Paragraph(HOSTILE, emphasis=True),
            Bullets((HOSTILE,)),
            Table(("a|b", HOSTILE), ((HOSTILE, "x | y"),), caption=HOSTILE),
            Media("grid [seed 0]", "plots/a b.png"),
        ]
    )
    assert "<" not in md and ">" not in md.replace("](", "")
    assert md.count("&lt;script&gt;alert('x')&lt;/script&gt; &amp; &lt;b&gt;") == 7
    assert "| a\\|b |" in md and "| x \\| y |" in md
    assert "![grid \\[seed 0\\]](plots/a%20b.png)" in md


def test_tiles_are_html_only_and_escaped(tmp_path: Path) -> None:
    tiles = Tiles(
        (Tile("C1", HOSTILE, "holds", "fd 9 < 32", "good", "reference: holds", "good", "open"),),
        (("holds", "good"),),
    )
    assert to_markdown([Heading("t"), tiles]) == "## t\n"
    page = to_html([tiles], tmp_path, "t")
    assert '<div class="tile tone-good">' in page and "<script>" not in page
    assert '<div class="tile-value"><span class="dot tone-open"></span>fd 9 &lt; 32</div>' in page
    assert '<span class="dot tone-good"></span>reference: holds</div>' in page
