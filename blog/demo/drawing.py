"""Pictures for the demo content, drawn with Pillow so the repository ships no binaries."""

import io

from PIL import Image, ImageDraw, ImageFont

ORANGE = (232, 118, 38)
INK = (29, 31, 35)
PAPER = (253, 253, 252)
BLUE = (11, 92, 173)
GREY = (140, 146, 156)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _font(size: int):
    return ImageFont.load_default(size=size)


def logo() -> bytes:
    # A light tile, so the dark braces show on dark themes too.
    image = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 159, 159), radius=28, fill=PAPER, outline=INK, width=5)
    font = _font(120)
    draw.text((4, 10), "{", fill=INK, font=font)
    draw.text((104, 10), "}", fill=INK, font=font)
    draw.rounded_rectangle((58, 58, 102, 102), radius=8, fill=ORANGE)
    return _png(image)


def bar_chart() -> bytes:
    """The cover of the SQLite post: two labelled bars."""
    image = Image.new("RGB", (1200, 630), PAPER)
    draw = ImageDraw.Draw(image)
    draw.text((60, 40), "Reads per second (illustrative)", fill=INK, font=_font(44))
    baseline = 560
    for x, height, label, colour in ((220, 420, "SQLite", ORANGE), (700, 360, "PostgreSQL", BLUE)):
        draw.rectangle((x, baseline - height, x + 280, baseline), fill=colour)
        draw.text((x, baseline + 12), label, fill=INK, font=_font(36))
    draw.line((120, baseline, 1100, baseline), fill=INK, width=4)
    return _png(image)


def sequence_diagram() -> bytes:
    """The inline figure of the HTTP caching post: a conditional GET answered by 304."""
    image = Image.new("RGB", (1200, 600), PAPER)
    draw = ImageDraw.Draw(image)
    font = _font(34)
    for x, label in ((200, "Feed reader"), (900, "Server")):
        draw.rectangle((x - 140, 40, x + 140, 120), outline=INK, width=4)
        draw.text((x - 110, 60), label, fill=INK, font=font)
        draw.line((x, 120, x, 560), fill=GREY, width=3)
    draw.line((200, 240, 890, 240), fill=BLUE, width=5)
    draw.polygon([(900, 240), (870, 225), (870, 255)], fill=BLUE)
    draw.text((260, 190), 'GET /feed/  If-None-Match: "3f2a9c"', fill=INK, font=font)
    draw.line((210, 420, 900, 420), fill=ORANGE, width=5)
    draw.polygon([(200, 420), (230, 405), (230, 435)], fill=ORANGE)
    draw.text((300, 370), "304 Not Modified (no body)", fill=INK, font=font)
    return _png(image)
