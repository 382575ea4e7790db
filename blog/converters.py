class UnicodeSlugConverter:
    """Slugs as taggit and Django's slugify(allow_unicode=True) make them ("café", "c")."""

    regex = r"[-\w]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value
