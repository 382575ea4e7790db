"""How tag strings typed in the admin become tag names and slugs, and back.

django-taggit's default parser splits on spaces unless a comma is present, so
"Machine learning" would become two tags. Bytepress splits on commas only, trims and
collapses whitespace, and drops case-insensitive duplicates (taggit can create
"Python" and "python" when both arrive in one call).

Slugs are said the way a reader would say the name, so that tags never share one by
accident ("C" is /tags/c/, "C++" /tags/c-plus-plus/, "🐍" /tags/snake/).
"""

import hashlib
import re
import unicodedata
from collections.abc import Iterator

from django.utils.text import slugify

_WHITESPACE = re.compile(r"\s+")
SLUG_LENGTH = 100  # Tag.slug's max_length
# A flag emoji is two regional indicator symbols, one per letter of the country code.
_FLAG = re.compile("[\U0001f1e6-\U0001f1ff]{2}")
# Hex digits of the name's hash added to a slug that another tag already has; longer
# only in the (astronomically unlikely) case that the shorter one is taken too.
_SUFFIX_LENGTHS = (6, 8, 12, 16, 32, 64)


def parse_tags(tagstring: str) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for raw in (tagstring or "").split(","):
        name = _WHITESPACE.sub(" ", raw).strip().strip('"').strip()
        key = name.casefold()
        if name and key not in seen:
            seen.add(key)
            names.append(name[:100])
    return sorted(names, key=str.casefold)


def join_tags(tags) -> str:
    return ", ".join(sorted((tag.name for tag in tags), key=str.casefold))


def _char_words(char: str) -> str:
    """A symbol's Unicode name as words: "🐍" → "snake", "+" (PLUS SIGN) → "plus"."""
    name = unicodedata.name(char, "")
    if name.startswith("EMOJI MODIFIER"):  # a skin tone qualifies the emoji before it
        return ""
    return name.removesuffix(" SIGN").lower()


def _flag_letters(match: re.Match) -> str:
    return " " + "".join(chr(ord(char) - 0x1F1E6 + ord("a")) for char in match.group()) + " "


def _truncate(slug: str, length: int) -> str:
    return slug[:length].rstrip("-")


def readable_slug(name: str) -> str:
    """The slug of a tag name, said as a reader would say it.

    Letters of any script are kept ("café", "日本語"); symbols and emoji become their
    Unicode names ("C++" → "c-plus-plus", "🐍" → "snake", "🇫🇷" → "fr"); "C#" is
    "c-sharp" and "R&D" "r-and-d". A name of punctuation only ("!!!") is spelled out
    rather than lost. Empty only for characters that have no Unicode name.
    """
    text = _FLAG.sub(_flag_letters, unicodedata.normalize("NFKC", name))
    spoken = []
    for index, char in enumerate(text):
        if unicodedata.category(char).startswith("S"):
            spoken.append(f" {_char_words(char)} ")
        elif char == "&":
            spoken.append(" and ")
        elif char == "#" and index and text[index - 1].isalnum():
            spoken.append(" sharp ")  # C#, F#; a leading "#" is a hashtag's, and silent
        else:
            spoken.append(char)
    slug = slugify("".join(spoken), allow_unicode=True)
    if not slug:
        slug = slugify(" ".join(_char_words(char) for char in text), allow_unicode=True)
    return _truncate(slug, SLUG_LENGTH)


def slug_candidates(name: str) -> Iterator[str]:
    """Slugs for a new tag, best first: the readable one, then that with a few hex digits
    of a hash of the name ("c-plus-plus-3f9a1c").

    The suffix depends on the name alone, not on how many similar tags came before
    (taggit numbers them _1, _2, …), so a name always gets the same one.
    """
    readable = readable_slug(name) or "tag"
    yield readable
    digest = hashlib.sha256(name.encode()).hexdigest()
    for length in _SUFFIX_LENGTHS:
        yield f"{_truncate(readable, SLUG_LENGTH - length - 1)}-{digest[:length]}"
