from django.urls import path

from apps.tiles.urls import SignedIntConverter  # noqa: F401 - registers the `sint` converter

from . import views

app_name = "ogc"
urlpatterns = [
    path("", views.LandingView.as_view(), name="landing"),
    path("api", views.APIDefinitionView.as_view(), name="api"),
    path("conformance", views.ConformanceView.as_view(), name="conformance"),
    path("collections", views.CollectionsView.as_view(), name="collections"),
    path("collections/<str:collection_id>", views.CollectionView.as_view(), name="collection"),
    path("collections/<str:collection_id>/queryables", views.QueryablesView.as_view(), name="queryables"),
    path("collections/<str:collection_id>/items", views.ItemsView.as_view(), name="items"),
    path("collections/<str:collection_id>/items/<str:feature_id>", views.ItemView.as_view(), name="item"),
    path("collections/<str:collection_id>/tiles", views.TilesetsView.as_view(), name="tilesets"),
    path("collections/<str:collection_id>/tiles/<str:tms>", views.TilesetView.as_view(), name="tileset"),
    path(
        "collections/<str:collection_id>/tiles/<str:tms>/tilejson.json", views.TileJSONView.as_view(), name="tilejson"
    ),
    path("collections/<str:collection_id>/tiles/<str:tms>/<sint:z>/<sint:row>/<sint:col>", views.tile, name="tile"),
    path("tileMatrixSets", views.TileMatrixSetsView.as_view(), name="tile-matrix-sets"),
    path("tileMatrixSets/<str:tms>", views.TileMatrixSetView.as_view(), name="tile-matrix-set"),
]
