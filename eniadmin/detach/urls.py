from django.urls import path

from eniadmin.detach import views

app_name = "detach"
urlpatterns = [
    path("", views.request_list, name="request-list"),
    path("new/", views.request_create, name="request-create"),
    path("review/", views.review_list, name="review"),
    path("requests/<int:pk>/", views.request_detail, name="request-detail"),
    path("requests/<int:pk>/status/", views.request_status, name="request-status"),
    path("requests/<int:pk>/decide/", views.request_decide, name="request-decide"),
    path("requests/<int:pk>/cancel/", views.request_cancel, name="request-cancel"),
    path("enis/<eni_id:eni_id>/row/", views.eni_row, name="eni-row"),
]
