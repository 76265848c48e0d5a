"""MapLibre (in Debian's headless Chromium) finds the city's vector tiles from the OGC API's TileJSON alone:
a page on another origin names only the TileJSON URL, and the map renders the buildings with their fields."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.test_browser import browser  # noqa: F401 - the shared browser fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="{server}/static/vendor/maplibre-gl/maplibre-gl.css">
<script src="{server}/static/vendor/maplibre-gl/maplibre-gl.js"></script></head>
<body style="margin:0"><div id="map" style="width:800px;height:600px"></div></body></html>"""

SCRIPT = """(tilejson) => new Promise((resolve, reject) => {
  const map = new maplibregl.Map({container: 'map', center: [24.945, 60.170], zoom: 15, style: {
    version: 8, sources: {city: {type: 'vector', url: tilejson}},
    layers: [{id: 'buildings', type: 'fill', source: 'city', 'source-layer': 'buildings',
              paint: {'fill-color': '#7c3aed'}}]}});
  map.on('error', (e) => reject(String(e.error && e.error.message)));
  map.once('idle', () => {
    const found = map.querySourceFeatures('city', {sourceLayer: 'buildings'});
    resolve({count: found.length, fields: found.length ? Object.keys(found[0].properties) : [],
             attribution: map.getSource('city').attribution || ''});
  });
})"""


def test_maplibre_renders_the_buildings_from_the_tilejson_alone(browser: Browser, server_url: str) -> None:  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_content(PAGE.format(server=server_url))  # about:blank: another origin than the server's
    page.wait_for_function("typeof maplibregl !== 'undefined'")
    tilejson = f"{server_url}/ogc/collections/buildings/tiles/WebMercatorQuad/tilejson.json"
    result = page.evaluate(SCRIPT, tilejson)
    context.close()
    assert not errors, errors
    assert result["count"] > 10
    assert {"height_m", "use", "name"} <= set(result["fields"])
    assert "OpenStreetMap contributors" in result["attribution"]
