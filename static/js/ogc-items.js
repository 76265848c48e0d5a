/*
 * The OGC API's HTML page of features: the page's features on the city map (static/js/map.js's style),
 * outlined over the buildings and roads, fitted to their extent. The features arrive as a json_script
 * element (CRS84 only: the page shows no map for other CRSs). Popups use textContent, never HTML.
 */
(function () {
  'use strict';

  function extent(features) {
    var box = [180, 90, -180, -90];
    function walk(coords) {
      if (typeof coords[0] === 'number') {
        box = [Math.min(box[0], coords[0]), Math.min(box[1], coords[1]),
          Math.max(box[2], coords[0]), Math.max(box[3], coords[1])];
        return;
      }
      coords.forEach(walk);
    }
    features.forEach(function (f) { if (f.geometry) { walk(f.geometry.coordinates); } });
    return box[0] <= box[2] ? [[box[0], box[1]], [box[2], box[3]]] : null;
  }

  function popup(feature) {
    var root = document.createElement('div');
    root.className = 'feature-popup';
    var title = document.createElement('h3');
    title.className = 'feature-popup-title';
    title.textContent = feature.properties.name || ('Feature ' + feature.id);
    root.appendChild(title);
    var link = document.createElement('a');
    link.href = window.location.pathname.replace(/\/items\/?$/, '/items/') + feature.id + '?f=html';
    link.textContent = 'Feature ' + feature.id;
    root.appendChild(link);
    return root;
  }

  function init() {
    var element = document.getElementById('ogc-features');
    var container = document.getElementById('ogc-map');
    if (!element || !container || typeof maplibregl === 'undefined' || !window.CityTwinMap) {
      return;
    }
    var data = JSON.parse(element.textContent);
    var bounds = extent(data.features || []);
    if (!bounds) {
      container.hidden = true;
      return;
    }
    var map;
    try {
      map = new maplibregl.Map({
        container: container, style: window.CityTwinMap.buildStyle(), bounds: bounds,
        fitBoundsOptions: {padding: 40, maxZoom: 17}, maxZoom: 19, attributionControl: false
      });
    } catch (error) {
      container.textContent = 'The map needs WebGL, which this browser does not provide.';
      return;
    }
    map.addControl(new maplibregl.NavigationControl({}), 'top-right');
    map.addControl(new maplibregl.AttributionControl({compact: false, customAttribution: window.CityTwinMap.attribution}), 'bottom-right');
    map.once('load', function () {
      map.addSource('page', {type: 'geojson', data: data});
      map.addLayer({id: 'page-fill', type: 'fill', source: 'page', filter: ['==', ['geometry-type'], 'Polygon'],
        paint: {'fill-color': '#7c3aed', 'fill-opacity': 0.35}});
      map.addLayer({id: 'page-line', type: 'line', source: 'page',
        paint: {'line-color': '#7c3aed', 'line-width': 2.5}});
      map.addLayer({id: 'page-point', type: 'circle', source: 'page', filter: ['==', ['geometry-type'], 'Point'],
        paint: {'circle-color': '#7c3aed', 'circle-radius': 6, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5}});
      ['page-fill', 'page-line', 'page-point'].forEach(function (layer) {
        map.on('click', layer, function (event) {
          new maplibregl.Popup({className: 'citytwin-popup'}).setLngLat(event.lngLat)
            .setDOMContent(popup(event.features[0])).addTo(map);
        });
      });
    });
    map.once('idle', function () { document.body.dataset.mapReady = '1'; });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
