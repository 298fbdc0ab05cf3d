from __future__ import annotations

from django.urls import path

from eniadmin.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.audit_history, name="history"),
    path("export.csv", views.audit_export, {"export_format": "csv"}, name="export-csv"),
    path("export.json", views.audit_export, {"export_format": "json"}, name="export-json"),
]
