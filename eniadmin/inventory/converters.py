from __future__ import annotations


class EniIdConverter:
    """An ENI id in a URL (`eni-5tc…`: letters, digits and dashes): anything else is a 404
    before a view runs, and never reaches a query (PostgreSQL refuses a NUL byte outright)."""

    regex = "[-0-9A-Za-z]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
