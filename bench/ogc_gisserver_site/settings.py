"""The product's dev settings (DEBUG off through DJANGO_DEBUG, as every benchmark serves it) with
django-gisserver installed and this folder's URLs, so its WFS can be measured on the same server stack."""

from city.settings.dev import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "gisserver"]  # noqa: F405
ROOT_URLCONF = "ogc_gisserver_site.urls"
GISSERVER_DEFAULT_MAX_PAGE_SIZE = 10000  # the same ceiling as /ogc/ and /api/
