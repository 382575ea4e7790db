"""How tag strings typed in the admin become tag names, and back.

django-taggit's default parser splits on spaces unless a comma is present, so
"Machine learning" would become two tags. Bytepress splits on commas only, trims and
collapses whitespace, and drops case-insensitive duplicates (taggit can create
"Python" and "python" when both arrive in one call).
"""

import re

_WHITESPACE = re.compile(r"\s+")


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
