"""A small, safe Markdown subset for markdown outputs.

Headings (#..######), paragraphs, bullet and numbered lists, fenced code, `code`, **bold**,
*italic* and [links](https://...). All text is escaped first; raw HTML is shown as text, and links
only keep http(s), mailto and relative targets. A full Markdown library can be used instead by
returning `Markup(markdown.markdown(text))` from an `html` output.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_INLINE = re.compile(
    r"`(?P<code>[^`]+)`"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|\*(?P<italic>[^*]+)\*"
    r"|\[(?P<text>[^\]]+)\]\((?P<href>[^)\s]+)\)"
)
_SAFE_HREF = re.compile(r"(https?://|mailto:|/|#|\.{0,2}/?[\w-])", re.IGNORECASE)


def _inline(text: str) -> Markup:
    out = Markup("")
    position = 0
    for match in _INLINE.finditer(text):
        out += escape(text[position : match.start()])
        position = match.end()
        if match["code"] is not None:
            out += Markup("<code>{}</code>").format(match["code"])
        elif match["bold"] is not None:
            out += Markup("<strong>{}</strong>").format(_inline(match["bold"]))
        elif match["italic"] is not None:
            out += Markup("<em>{}</em>").format(_inline(match["italic"]))
        else:
            href = match["href"]
            if _SAFE_HREF.match(href) and not href.lower().startswith(("javascript:", "data:")):
                out += Markup('<a href="{}">{}</a>').format(href, _inline(match["text"]))
            else:
                out += escape(match[0])
    return out + escape(text[position:])


def render_markdown(text: str) -> Markup:
    """Markdown `text` as escaped HTML."""
    blocks: list[Markup] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""
    lines = text.replace("\r\n", "\n").split("\n")

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            blocks.append(Markup("<p>{}</p>").format(_inline(" ".join(paragraph))))
            paragraph.clear()
        if items:
            inner = Markup("").join(Markup("<li>{}</li>").format(_inline(i)) for i in items)
            wrapper = Markup("<ol>{}</ol>") if list_tag == "ol" else Markup("<ul>{}</ul>")
            blocks.append(wrapper.format(inner))
            items.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        index += 1
        if stripped.startswith("```"):
            flush()
            code: list[str] = []
            while index < len(lines) and not lines[index].strip().startswith("```"):
                code.append(lines[index])
                index += 1
            index += 1
            blocks.append(Markup("<pre><code>{}</code></pre>").format("\n".join(code)))
        elif not stripped:
            flush()
        elif heading := re.match(r"(#{1,6})\s+(.*)", stripped):
            flush()
            level = len(heading[1])
            blocks.append(Markup("<h{0}>{1}</h{0}>").format(level, _inline(heading[2])))
        elif bullet := re.match(r"([-*+]|\d+[.)])\s+(.*)", stripped):
            tag = "ol" if bullet[1][0].isdigit() else "ul"
            if paragraph or (items and tag != list_tag):
                flush()
            list_tag = tag
            items.append(bullet[2])
        else:
            if items:
                flush()
            paragraph.append(stripped)
    flush()
    return Markup('<div class="tr-markdown">{}</div>').format(Markup("\n").join(blocks))
