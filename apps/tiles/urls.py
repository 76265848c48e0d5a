from django.urls import path, register_converter

from . import runs, views


class SignedIntConverter:
    """Matches any integer so that out-of-range z/x/y reach the view and get a 400, not a 404."""

    regex = r"-?\d{1,10}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(SignedIntConverter, "sint")

app_name = "tiles"
urlpatterns = [
    path("runs/<int:run>/<sint:z>/<sint:x>/<sint:y>.pbf", runs.run_tile, name="run-tile"),
    path("<slug:layer>/<sint:z>/<sint:x>/<sint:y>.pbf", views.tile, name="tile"),
]
