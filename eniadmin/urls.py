from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter

from eniadmin import views
from eniadmin.accounts.views import LoginView
from eniadmin.inventory.converters import EniIdConverter

# Before the includes below import the apps' URL modules, which use it.
register_converter(EniIdConverter, "eni_id")

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", include("eniadmin.audit.urls")),
    path("detach/", include("eniadmin.detach.urls")),
    path("", include("eniadmin.inventory.urls")),
    path("admin/", admin.site.urls),
]
