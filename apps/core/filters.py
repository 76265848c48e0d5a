"""Filters shared by every list: ?bbox=minlon,minlat,maxlon,maxlat on the layers, and strict parsing of
every filter value.

django-filter ignores a value it cannot read (`?active=maybe`, `?osm_id=0.5`) and filters on nothing, so a
typo silently answers the whole table. Here a value that does not fit the parameter's documented type is a
400 naming the parameter; and a foreign key is filtered by id (an id that matches nothing selects nothing,
as any filter value does), not offered as a choice among the rows that exist."""

from __future__ import annotations

import re
from typing import Any

import django_filters
from django import forms
from django.contrib.gis.geos import Polygon
from django.db import models
from django.db.models import QuerySet
from django_filters.fields import BaseCSVField
from django_filters.rest_framework import FilterSet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .geo import BBOX_PATTERN, STORAGE_SRID, BBox, BBoxError

WHOLE_NUMBER = re.compile(r"[-+]?[0-9]+")
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


class StrictIntegerField(forms.IntegerField):
    """Django's IntegerField also takes '1.0' and ' 1 '; an id or a count in a URL is digits only."""

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if not WHOLE_NUMBER.fullmatch(str(value)):
            raise forms.ValidationError("must be a whole number", code="invalid")
        return int(value)


class StrictBooleanField(forms.Field):
    widget = forms.TextInput  # the raw text, so that a wrong value is seen (not read as "unknown")

    def to_python(self, value: Any) -> bool | None:
        if value in self.empty_values:
            return None
        text = str(value).lower()
        if text not in BOOLEANS:
            raise forms.ValidationError("must be true or false", code="invalid")
        return BOOLEANS[text]


@extend_schema_field(OpenApiTypes.NUMBER)
class FloatFilter(django_filters.NumberFilter):
    """django-filter's NumberFilter reads a Decimal capped at 1e50; a float column takes any finite float."""

    field_class = forms.FloatField

    def get_max_validator(self) -> None:
        return None


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(django_filters.NumberFilter):
    field_class = StrictIntegerField


@extend_schema_field(OpenApiTypes.BOOL)
class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class CharInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """One or more comma-separated values; each is checked as text (no NUL, which PostgreSQL refuses)."""


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.Filter):
    """A foreign key by its id."""

    field_class = StrictIntegerField


_INTEGER_FIELDS = (
    models.AutoField,
    models.BigAutoField,
    models.SmallAutoField,
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
)


class StrictFilterForm(forms.Form):
    """`?kind=` (given, empty) is not `?kind` left out: for a typed parameter (a number, a choice, a
    boolean...) it is an error. Free text and lists may be empty."""

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        for name, field in self.fields.items():
            free = type(field) is forms.CharField or isinstance(field, BaseCSVField)
            if not free and name not in self.errors and self.data.get(self.add_prefix(name)) == "":
                self.add_error(name, "must not be empty; leave the parameter out instead")
        return cleaned


class StrictFilterSet(FilterSet):
    """The base of every filter set of the API (see the module docstring)."""

    FILTER_DEFAULTS = {
        **FilterSet.FILTER_DEFAULTS,
        **{field: {"filter_class": IntegerFilter} for field in _INTEGER_FIELDS},
        models.FloatField: {"filter_class": FloatFilter},
        models.BooleanField: {"filter_class": BooleanFilter},
        models.ForeignKey: {"filter_class": IdFilter},
        models.OneToOneField: {"filter_class": IdFilter},
    }

    def get_form_class(self) -> type[forms.Form]:
        fields = {name: filter_.field for name, filter_ in self.filters.items()}
        return type(f"{type(self).__name__}Form", (StrictFilterForm,), fields)


class BBoxField(forms.CharField):
    def clean(self, value: Any) -> BBox | None:
        if value is None:  # absent; `bbox=` (empty) is a bbox that is not four numbers
            return None
        value = super().clean(value)
        try:
            return BBox.parse(value)
        except BBoxError as exc:
            raise forms.ValidationError(str(exc), code="invalid_bbox") from exc


@extend_schema_field(
    {
        "type": "string",
        "pattern": BBOX_PATTERN,
        "example": "24.935,60.164,24.953,60.179",
        "description": "minlon,minlat,maxlon,maxlat in WGS 84 degrees, minlon < maxlon and minlat < maxlat.",
    }
)
class BBoxFilter(django_filters.Filter):
    """Features whose geometry intersects the box (uses the GiST index)."""

    field_class = BBoxField

    def filter(self, qs: QuerySet, value: BBox | None) -> QuerySet:
        if value is None:
            return qs
        polygon = Polygon.from_bbox(value.as_tuple())
        polygon.srid = STORAGE_SRID
        return qs.filter(**{f"{self.field_name}__intersects": polygon})


class BBoxFilterSet(StrictFilterSet):
    bbox = BBoxFilter(
        field_name="geom",
        label="Bounding box in WGS 84: minlon,minlat,maxlon,maxlat (features intersecting it).",
    )
