from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth import views as auth_views


class LoginView(auth_views.LoginView):
    """Django's, where a signed-in user sent back to the login page itself (?next=/login/)
    goes to the start page: Django would refuse the redirection loop with a server error."""

    redirect_authenticated_user = True

    def get_redirect_url(self) -> str:
        url = super().get_redirect_url()
        return "" if url and urlsplit(url).path == self.request.path else url
