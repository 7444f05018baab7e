from django.contrib import admin
from django.urls import path

from . import views

app_name = "figures"

urlpatterns = [
    path("", admin.site.admin_view(views.figures_page), name="index"),
    path("refresh/", admin.site.admin_view(views.figures_refresh_now), name="refresh"),
]
