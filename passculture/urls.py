from django.urls import path

from . import views

app_name = "passculture"
urlpatterns = [path("notifications", views.notification, name="notification")]
