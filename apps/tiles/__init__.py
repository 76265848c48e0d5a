"""Mapbox Vector Tiles built by PostGIS (ST_AsMVT), role-checked and cacheable."""
