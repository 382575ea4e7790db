"""Pages of a listing that cost the same at page 1 and page 500, at any archive size.

Django's paginator counts the whole listing on every page (for "page 3 of 120"), and
reads a deep page's rows with OFFSET. Both grow with the archive: the count visits every
entry of the listing's index, and on PostgreSQL OFFSET fetches each skipped row from the
table. This paginator counts nothing: it reads one row more than a page to know whether
there is a next one. It first reads the page's primary keys alone, which an index
answers without touching the table, then the page's rows by key.
"""

from django.core.paginator import EmptyPage, InvalidPage, Page, PageNotAnInteger, Paginator

# A page number with more digits than this is past any real archive (it is 404 at once,
# instead of an OFFSET the database would walk or refuse).
MAX_PAGE_DIGITS = 6


class ForwardPage(Page):
    def __init__(self, object_list, number, paginator, has_next):
        super().__init__(object_list, number, paginator)
        self._has_next = has_next

    def has_next(self):
        return self._has_next

    def end_index(self):
        return self.start_index() + len(self.object_list) - 1 if self.object_list else 0


class ForwardPaginator(Paginator):
    """A paginator for querysets ordered by an index, with no count and no last page.

    ``rows(keys)`` returns the objects with those primary keys (in any order), shaped as
    the page shows them. The keys come from the listing itself, so the rows need no
    filter but their keys: given the listing's filters too, SQLite (which plans without
    statistics) walked the listing's index instead of looking the keys up.
    """

    def __init__(self, object_list, per_page, *, rows, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.rows = rows

    def validate_number(self, number):
        text = str(number)
        if not text.isdigit() or len(text) > MAX_PAGE_DIGITS:
            raise PageNotAnInteger("That page number is not a whole number.")
        number = int(text)
        if number < 1:
            raise EmptyPage("That page number is less than 1.")
        return number

    def page(self, number):
        number = self.validate_number(number)
        start = (number - 1) * self.per_page
        keys = list(
            self.object_list.prefetch_related(None).values_list("pk", flat=True)[
                start : start + self.per_page + 1
            ]
        )
        if not keys and number > 1:
            raise EmptyPage("That page contains no results.")
        wanted = keys[: self.per_page]
        found = {row.pk: row for row in self.rows(wanted)} if wanted else {}
        # In the listing's order, which the keys already have.
        rows = [found[key] for key in wanted if key in found]
        return ForwardPage(rows, number, self, has_next=len(keys) > len(wanted))

    @property
    def count(self):
        raise InvalidPage("ForwardPaginator does not count its listing.")

    @property
    def num_pages(self):
        raise InvalidPage("ForwardPaginator does not count its listing.")
