from django.urls import path

from . import views

app_name = "orders"
urlpatterns = [
    path("new/<str:isbn>/", views.order_new, name="new"),
    path("o/<str:token>/", views.order_detail, name="detail"),
    path("o/<str:token>/cancel/", views.order_cancel, name="cancel"),
    path("confirm/<str:token>/", views.order_confirm, name="confirm"),
    path("alerts/new/<str:isbn>/", views.alert_new, name="alert_new"),
    path("alerts/confirm/<str:token>/", views.alert_confirm, name="alert_confirm"),
    path("alerts/unsubscribe/<str:token>/", views.alert_unsubscribe, name="alert_unsubscribe"),
]
