"""Loading city data from OSM, GeoJSON, GeoPackage, Shapefile and CSV, with lineage (ImportRun)."""
