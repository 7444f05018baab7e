from django.urls import path

from . import views

app_name = "reservations"
urlpatterns = [
    path("new/<int:line_id>/", views.reservation_new, name="new"),
    path("new/<slug:shop_slug>/<str:isbn>/", views.reservation_new_for_book, name="new_for_book"),
    path("r/<str:token>/", views.reservation_detail, name="detail"),
    path("r/<str:token>/cancel/", views.reservation_cancel, name="cancel"),
]
