from django.urls import path

from . import views

app_name = "catalogue"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("books/<str:isbn>/", views.book_detail, name="book"),
]
