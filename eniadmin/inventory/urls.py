from django.urls import path

from eniadmin.inventory import views

app_name = "inventory"
urlpatterns = [
    path("", views.instance_list, name="instance-list"),
    path("sync/", views.sync_now, name="sync-now"),
    path("sync/status/", views.sync_status, name="sync-status"),
    path("enis/<eni_id:eni_id>/", views.eni_detail, name="eni-detail"),
]
