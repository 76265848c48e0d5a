"""Filters shared by every layer: ?bbox=minlon,minlat,maxlon,maxlat."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.contrib.gis.geos import Polygon
from django.db.models import QuerySet

from .geo import STORAGE_SRID, BBox, BBoxError


class BBoxField(forms.CharField):
    def clean(self, value: Any) -> BBox | None:
        value = super().clean(value)
        if not value:
            return None
        try:
            return BBox.parse(value)
        except BBoxError as exc:
            raise forms.ValidationError(str(exc), code="invalid_bbox") from exc


class BBoxFilter(django_filters.Filter):
    """Features whose geometry intersects the box (uses the GiST index)."""

    field_class = BBoxField

    def filter(self, qs: QuerySet, value: BBox | None) -> QuerySet:
        if value is None:
            return qs
        polygon = Polygon.from_bbox(value.as_tuple())
        polygon.srid = STORAGE_SRID
        return qs.filter(**{f"{self.field_name}__intersects": polygon})


class BBoxFilterSet(django_filters.FilterSet):
    bbox = BBoxFilter(
        field_name="geom",
        label="Bounding box in WGS 84: minlon,minlat,maxlon,maxlat (features intersecting it).",
    )
