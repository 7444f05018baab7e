from django.urls import path

from . import views

app_name = "api"
urlpatterns = [
    path("shops/<slug:slug>/stock", views.shop_stock, name="shop-stock"),
    path("passculture/<str:siret>", views.passculture_stocks, name="passculture-stocks"),
    path("openapi.json", views.openapi, name="openapi"),
]
