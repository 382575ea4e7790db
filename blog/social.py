"""The default social card: a 1200x630 picture of the site's title, drawn with Pillow.

Social sites show a page's ``og:image`` beside every shared link. Pages without a cover
fall back to the site settings' social image, and without one, to this card.
"""

import io
import textwrap

from PIL import Image, ImageDraw, ImageFont

SIZE = (1200, 630)
INK = (29, 31, 35)
PAPER = (253, 253, 252)
ACCENT = (232, 118, 38)
MUTED = (88, 94, 104)


def title_card(title: str, tagline: str = "") -> bytes:
    """A PNG: the title large, wrapped to at most three lines, the tagline under it."""
    image = Image.new("RGB", SIZE, PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, SIZE[0], 18), fill=ACCENT)
    lines = textwrap.wrap(title or "Bytepress", width=22)[:3]
    font = ImageFont.load_default(size=84 if len(lines) < 3 else 70)
    small = ImageFont.load_default(size=40)
    taglines = textwrap.wrap(tagline, width=48)[:2]
    # The block of text is centred vertically below the accent bar.
    height = len(lines) * (font.size + 18) + len(taglines) * (small.size + 14)
    y = 18 + max(40, (SIZE[1] - 18 - height) // 2)
    for line in lines:
        draw.text((80, y), line, fill=INK, font=font)
        y += font.size + 18
    for line in taglines:
        y += 14
        draw.text((80, y), line, fill=MUTED, font=small)
        y += small.size
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
