from __future__ import annotations


class EniIdConverter:
    """An ENI id in a URL (`eni-5tc…`: letters, digits and dashes; dots and underscores are
    let through too, in case ENS ever issues them, as a list row links to every id it shows):
    anything else is a 404 before a view runs, and never reaches a query (PostgreSQL refuses a
    NUL byte outright)."""

    regex = "[-._0-9A-Za-z]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
