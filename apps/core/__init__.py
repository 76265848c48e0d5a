"""Shared building blocks: the sourced-feature base model, bbox/CRS value objects, GeoJSON rendered in PostGIS, error mapping, CSP."""
