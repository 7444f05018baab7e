from django.urls import path

from . import views

app_name = "bookshops"
urlpatterns = [
    path("", views.shop_list, name="list"),
    path("position/oublier/", views.location_forget, name="location_forget"),
    path("<slug:slug>/", views.shop_detail, name="detail"),
]
