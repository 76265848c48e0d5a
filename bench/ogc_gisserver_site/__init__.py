"""A Django site for bench_ogc.py only: the product's settings and URLs plus django-gisserver's WFS at /wfs/."""
