from __future__ import annotations

from django.http import HttpRequest


def csp_nonce(request: HttpRequest) -> dict[str, object]:
    """The CSP nonce under the name `{% htmx_script %}` reads; lazy until a page uses it."""
    return {"csp_nonce": getattr(request, "csp_nonce", None)}
