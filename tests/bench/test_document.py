"""The document model: text stays text in Markdown as in HTML; tiles are drawn in HTML only."""

from __future__ import annotations

import re
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


def test_a_tile_lists_its_findings_whole(tmp_path: Path) -> None:
    """Each finding on a line of its own, and no rule of the tiles clips text (C5's and C9's
    second findings ended in an ellipsis)."""
    findings = ("mse: dcrnn 0.719 ± 0.014 vs gru-per-node 0.688", "mse: dcrnn 0.719 vs <b>")
    tile = Tile("C9", "t", "refuted", "0 of 2 comparisons support it", "bad", findings=findings)
    page = to_html([Tiles((tile,))], tmp_path, "t")
    assert (
        '<div class="tile-value">0 of 2 comparisons support it<ul class="tile-findings">'
        "<li>mse: dcrnn 0.719 ± 0.014 vs gru-per-node 0.688</li>"
        "<li>mse: dcrnn 0.719 vs &lt;b&gt;</li></ul></div>"
    ) in page
    css = page[page.index("<style>") : page.index("</style>")]
    tile_rules = [rule for rule in css.split("}") if ".tile" in rule]
    clips = re.compile(r"line-clamp|ellipsis|overflow(-[xy])?\s*:\s*(hidden|clip)")
    assert tile_rules and not any(clips.search(rule) for rule in tile_rules)
