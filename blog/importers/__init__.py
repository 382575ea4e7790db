"""Importers from other blogs: Markdown sites (Jekyll, Hugo) and WordPress exports.

Each reads its sources into ``common.Source`` items, and ``common.Importer`` writes them
through blog.services, with an ImportRecord per item so that a second run updates.
"""
