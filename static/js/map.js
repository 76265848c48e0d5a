/*
 * The 3D city map: MapLibre GL JS over the city's own vector tiles (/tiles/<layer>/{z}/{x}/{y}.pbf).
 *
 * No external tile server, glyphs or sprites: the style uses only background, fill, line, circle and
 * fill-extrusion layers. The page's CSP forbids inline scripts, so the view's configuration arrives as a
 * json_script element. Popups are built with createElement/textContent so feature values are never
 * parsed as HTML.
 */
(function () {
  'use strict';

  var OSM_ATTRIBUTION =
    '<a href="https://www.openstreetmap.org/copyright" target="_blank" rel="noopener">' +
    '\u00a9 OpenStreetMap contributors</a>';

  // Building use -> colour. The legend is generated from this list, so they cannot drift apart.
  var BUILDING_COLOURS = [
    ['residential', 'Residential', '#e9c48f'],
    ['apartments', 'Apartments', '#d99873'],
    ['commercial', 'Commercial', '#79a7d3'],
    ['office', 'Office', '#5c7fb5'],
    ['retail', 'Retail', '#e07b7b'],
    ['church', 'Church', '#a48bd6'],
    ['public', 'Public', '#62b59b'],
    ['yes', 'Unspecified', '#c4c8cf']
  ];
  var BUILDING_OTHER = ['Other', '#b3aca3'];

  var ASSET_COLOURS = {
    street_lamp: '#f2c230',
    traffic_signals: '#e0453a',
    charging_station: '#2fa84f',
    fire_hydrant: '#2f7de1',
    fountain: '#2f7de1',
    drinking_water: '#2f7de1'
  };
  var ASSET_OTHER = '#8a8f98';

  var MAJOR_ROADS = ['motorway', 'motorway_link', 'trunk', 'trunk_link', 'primary', 'primary_link'];
  var MEDIUM_ROADS = ['secondary', 'secondary_link', 'tertiary', 'tertiary_link'];
  var PATHS = ['footway', 'cycleway', 'path', 'pedestrian', 'steps', 'bridleway', 'corridor'];

  // Layer-switcher group -> style layer ids.
  var GROUPS = {
    buildings: ['buildings-3d'],
    roads: ['roads-casing', 'roads-path', 'roads-minor', 'roads-medium', 'roads-major'],
    assets: ['assets-areas', 'assets-lines', 'assets-points'],
    districts: ['districts-fill', 'districts-outline']
  };
  // Layers that answer a click, in priority order; hovering them shows a pointer. District fills
  // cover everything, so they only answer a click that hits nothing else and never change the cursor.
  var POINTER_LAYERS = [
    'assets-points', 'assets-lines', 'assets-areas', 'buildings-3d',
    'roads-major', 'roads-medium', 'roads-minor', 'roads-path'
  ];
  var CLICK_LAYERS = POINTER_LAYERS.concat(['districts-fill']);

  // Source layer -> heading and API endpoint for the popup.
  var KINDS = {
    buildings: {title: 'Building', api: '/api/buildings/'},
    roads: {title: 'Road segment', api: '/api/road-segments/'},
    assets: {title: 'Utility asset', api: '/api/utility-assets/'},
    districts: {title: 'District', api: '/api/districts/'}
  };
  var LABELS = {
    id: 'ID', name: 'Name', use: 'Use', levels: 'Levels', height_m: 'Height (m)',
    height_source: 'Height from', source_id: 'Source ID', highway: 'Class', lanes: 'Lanes',
    maxspeed_kmh: 'Max speed (km/h)', oneway: 'One-way', kind: 'Kind', operator: 'Operator',
    code: 'Code', level: 'Level'
  };

  // A tile URL template: an absolute URL (workers resolve relative URLs against a blob: URL), with
  // {z}/{x}/{y} left as they are: new URL() would percent-encode the braces.
  function tileUrl(layer) {
    return new URL('/tiles/' + encodeURIComponent(layer) + '/', window.location.origin).href + '{z}/{x}/{y}.pbf';
  }

  function vectorSource(layer, minzoom, maxzoom) {
    return {
      type: 'vector',
      tiles: [tileUrl(layer)],
      minzoom: minzoom,
      // Beyond this zoom the client over-zooms instead of asking PostGIS for ever smaller tiles.
      maxzoom: maxzoom,
      attribution: OSM_ATTRIBUTION
    };
  }

  function matchExpression(property, pairs, fallback) {
    var expression = ['match', ['to-string', ['get', property]]];
    pairs.forEach(function (pair) {
      expression.push(pair[0], pair[1]);
    });
    expression.push(fallback);
    return expression;
  }

  function byZoom(stops) {
    return ['interpolate', ['exponential', 1.5], ['zoom']].concat(stops);
  }

  function highwayIn(list) {
    return ['in', ['to-string', ['get', 'highway']], ['literal', list]];
  }

  function geometryIn(types) {
    return ['in', ['geometry-type'], ['literal', types]];
  }

  function buildStyle() {
    var buildingColour = matchExpression(
      'use',
      BUILDING_COLOURS.map(function (row) { return [row[0], row[2]]; }),
      BUILDING_OTHER[1]
    );
    var assetColour = matchExpression(
      'kind',
      Object.keys(ASSET_COLOURS).map(function (kind) { return [kind, ASSET_COLOURS[kind]]; }),
      ASSET_OTHER
    );
    // Height: the stored height, else levels x 3 m, else 9 m; never flat.
    var buildingHeight = ['max', 3, ['to-number', ['coalesce',
      ['get', 'height_m'],
      ['*', 3, ['to-number', ['coalesce', ['get', 'levels'], 3]]]
    ], 9]];

    return {
      version: 8,
      name: 'CityTwin',
      light: {anchor: 'viewport', color: '#ffffff', intensity: 0.35, position: [1.3, 210, 30]},
      sources: {
        districts: vectorSource('districts', 8, 14),
        roads: vectorSource('roads', 10, 16),
        buildings: vectorSource('buildings', 12, 16),
        assets: vectorSource('assets', 13, 16)
      },
      layers: [
        {id: 'background', type: 'background', paint: {'background-color': '#eef0f3'}},
        {
          id: 'districts-fill', type: 'fill', source: 'districts', 'source-layer': 'districts',
          paint: {'fill-color': '#6c7fd8', 'fill-opacity': 0.04}
        },
        {
          id: 'roads-casing', type: 'line', source: 'roads', 'source-layer': 'roads', minzoom: 13,
          filter: ['!', highwayIn(PATHS)],
          layout: {'line-cap': 'round', 'line-join': 'round'},
          paint: {
            'line-color': '#c9ced6',
            'line-width': byZoom([13, 1.5, 16, 6, 19, 26])
          }
        },
        {
          id: 'roads-path', type: 'line', source: 'roads', 'source-layer': 'roads', minzoom: 14,
          filter: highwayIn(PATHS),
          layout: {'line-join': 'round'},
          paint: {
            'line-color': '#9aa0a8',
            'line-width': byZoom([14, 0.6, 17, 1.5, 19, 3]),
            'line-dasharray': [2, 1.5]
          }
        },
        {
          id: 'roads-minor', type: 'line', source: 'roads', 'source-layer': 'roads', minzoom: 12,
          filter: ['all', ['!', highwayIn(PATHS)], ['!', highwayIn(MAJOR_ROADS)], ['!', highwayIn(MEDIUM_ROADS)]],
          layout: {'line-cap': 'round', 'line-join': 'round'},
          paint: {
            'line-color': '#ffffff',
            'line-width': byZoom([12, 0.5, 16, 4, 19, 20])
          }
        },
        {
          id: 'roads-medium', type: 'line', source: 'roads', 'source-layer': 'roads',
          filter: highwayIn(MEDIUM_ROADS),
          layout: {'line-cap': 'round', 'line-join': 'round'},
          paint: {
            'line-color': '#f6d58a',
            'line-width': byZoom([10, 0.8, 16, 6, 19, 24])
          }
        },
        {
          id: 'roads-major', type: 'line', source: 'roads', 'source-layer': 'roads',
          filter: highwayIn(MAJOR_ROADS),
          layout: {'line-cap': 'round', 'line-join': 'round'},
          paint: {
            'line-color': matchExpression('highway',
              [['motorway', '#e26b4f'], ['motorway_link', '#e26b4f'], ['trunk', '#ec8a4f'], ['trunk_link', '#ec8a4f']],
              '#f3a35c'),
            'line-width': byZoom([10, 1.2, 16, 8, 19, 30])
          }
        },
        {
          id: 'districts-outline', type: 'line', source: 'districts', 'source-layer': 'districts',
          layout: {'line-join': 'round'},
          paint: {
            'line-color': '#5a67c9',
            'line-opacity': 0.7,
            'line-width': byZoom([8, 1, 16, 2.5]),
            'line-dasharray': [3, 2]
          }
        },
        {
          id: 'assets-areas', type: 'fill', source: 'assets', 'source-layer': 'assets',
          filter: geometryIn(['Polygon', 'MultiPolygon']),
          paint: {'fill-color': assetColour, 'fill-opacity': 0.3, 'fill-outline-color': '#5b5f66'}
        },
        {
          id: 'assets-lines', type: 'line', source: 'assets', 'source-layer': 'assets',
          filter: geometryIn(['LineString', 'MultiLineString']),
          layout: {'line-join': 'round'},
          paint: {
            'line-color': matchExpression('kind',
              [['power_line', '#8e5bd6'], ['power_cable', '#8e5bd6'], ['pipeline', '#2f8fa8']], ASSET_OTHER),
            'line-width': byZoom([13, 1, 19, 4]),
            'line-dasharray': [4, 2]
          }
        },
        {
          id: 'buildings-3d', type: 'fill-extrusion', source: 'buildings', 'source-layer': 'buildings',
          paint: {
            'fill-extrusion-color': buildingColour,
            'fill-extrusion-height': buildingHeight,
            'fill-extrusion-base': 0,
            'fill-extrusion-opacity': 0.9
          }
        },
        {
          id: 'assets-points', type: 'circle', source: 'assets', 'source-layer': 'assets',
          filter: geometryIn(['Point', 'MultiPoint']),
          paint: {
            'circle-color': assetColour,
            'circle-radius': ['interpolate', ['linear'], ['zoom'],
              13, ['match', ['to-string', ['get', 'kind']], 'street_lamp', 1.5, 2.5],
              17, ['match', ['to-string', ['get', 'kind']], 'street_lamp', 3.5, 5.5],
              19, ['match', ['to-string', ['get', 'kind']], 'street_lamp', 6, 9]],
            'circle-stroke-color': '#ffffff',
            'circle-stroke-width': ['interpolate', ['linear'], ['zoom'], 13, 0.5, 17, 1.2]
          }
        }
      ]
    };
  }

  function readConfig() {
    var element = document.getElementById('map-config');
    var config = element ? JSON.parse(element.textContent) : {};
    var bounds = config.bounds;
    if (!Array.isArray(bounds) || bounds.length !== 4 || !bounds.every(Number.isFinite)) {
      bounds = [24.92, 60.16, 24.96, 60.175];
    }
    return {bounds: bounds};
  }

  function showMessage(text) {
    var element = document.getElementById('map-message');
    if (element) {
      element.textContent = text;
      element.hidden = false;
    }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function formatValue(key, value) {
    if (typeof value === 'boolean') {
      return value ? 'yes' : 'no';
    }
    if (typeof value === 'number' && !Number.isInteger(value)) {
      return String(Math.round(value * 10) / 10);
    }
    return String(value);
  }

  // The popup body: a heading and a table of the feature's attributes, all through textContent.
  function popupContent(feature) {
    var kind = KINDS[feature.sourceLayer] || {title: feature.sourceLayer, api: null};
    var props = feature.properties || {};
    var id = props.id !== undefined ? props.id : feature.id;

    var root = el('div', 'feature-popup');
    var title = props.name ? props.name : kind.title + (id !== undefined ? ' ' + id : '');
    root.appendChild(el('h3', 'feature-popup-title', title));
    if (props.name) {
      root.appendChild(el('p', 'feature-popup-kind', kind.title));
    }

    var table = el('table', 'feature-popup-table');
    var body = el('tbody');
    var rows = Object.assign({id: id}, props);
    Object.keys(rows).forEach(function (key) {
      var value = rows[key];
      if (value === undefined || value === null || value === '') {
        return;
      }
      var row = el('tr');
      row.appendChild(el('th', null, LABELS[key] || key));
      row.appendChild(el('td', null, formatValue(key, value)));
      body.appendChild(row);
    });
    table.appendChild(body);
    root.appendChild(table);

    if (kind.api && id !== undefined && /^\d+$/.test(String(id))) {
      var link = el('a', 'feature-popup-link', 'Open in the API');
      link.href = kind.api + encodeURIComponent(String(id)) + '/';
      root.appendChild(link);
    }
    return root;
  }

  function buildLegend() {
    var legend = document.getElementById('map-legend');
    if (!legend) {
      return;
    }
    BUILDING_COLOURS.concat([[null, BUILDING_OTHER[0], BUILDING_OTHER[1]]]).forEach(function (row) {
      var item = el('li');
      var swatch = el('span', 'legend-swatch');
      swatch.style.backgroundColor = row[2];
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(row[1]));
      legend.appendChild(item);
    });
  }

  function bindLayerSwitcher(map) {
    var boxes = document.querySelectorAll('.layer-switcher input[name="layer"]');
    Array.prototype.forEach.call(boxes, function (box) {
      var apply = function () {
        (GROUPS[box.value] || []).forEach(function (layerId) {
          if (map.getLayer(layerId)) {
            map.setLayoutProperty(layerId, 'visibility', box.checked ? 'visible' : 'none');
          }
        });
      };
      box.addEventListener('change', apply);
      apply(); // the browser may restore unchecked boxes on back/forward navigation
    });
  }

  // A few pixels of slack so that thin lines and small circles are easy to hit.
  function hitBox(point) {
    return [[point.x - 4, point.y - 4], [point.x + 4, point.y + 4]];
  }

  function visibleLayers(map, ids) {
    return ids.filter(function (id) {
      return map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none';
    });
  }

  function bindInteraction(map) {
    // closeOnClick is off because this click handler itself decides: a new feature or close.
    var popup = new maplibregl.Popup({closeButton: true, closeOnClick: false, maxWidth: '320px', className: 'citytwin-popup'});

    map.on('mousemove', function (event) {
      var layers = visibleLayers(map, POINTER_LAYERS);
      var hit = layers.length > 0 && map.queryRenderedFeatures(hitBox(event.point), {layers: layers}).length > 0;
      map.getCanvas().style.cursor = hit ? 'pointer' : '';
    });

    map.on('click', function (event) {
      var layers = visibleLayers(map, CLICK_LAYERS);
      if (layers.length === 0) {
        return;
      }
      var features = map.queryRenderedFeatures(hitBox(event.point), {layers: layers});
      if (features.length === 0) {
        popup.remove();
        return;
      }
      // Rendered order is top-most first, but prefer anything over the all-covering district fill.
      var ranked = features.slice().sort(function (a, b) {
        return CLICK_LAYERS.indexOf(a.layer.id) - CLICK_LAYERS.indexOf(b.layer.id);
      });
      popup.setLngLat(event.lngLat).setDOMContent(popupContent(ranked[0])).addTo(map);
    });
  }

  function init() {
    var container = document.getElementById('map');
    if (!container) {
      return;
    }
    buildLegend();
    if (typeof maplibregl === 'undefined') {
      showMessage('The map library did not load.');
      return;
    }
    var config = readConfig();

    var map;
    try {
      map = new maplibregl.Map({
        container: container,
        style: buildStyle(),
        bounds: config.bounds,
        fitBoundsOptions: {padding: 40, pitch: 55, bearing: -20},
        pitch: 55,
        bearing: -20,
        maxZoom: 19,
        maxPitch: 70,
        attributionControl: false,
        // Send the session cookie with our own tile requests: the assets layer depends on the role.
        transformRequest: function (url) {
          if (url.indexOf(window.location.origin + '/') === 0) {
            return {url: url, credentials: 'same-origin'};
          }
          return {url: url};
        }
      });
    } catch (error) {
      showMessage('The 3D map needs WebGL, which this browser does not provide.');
      document.body.dataset.mapError = '1';
      return;
    }

    map.addControl(new maplibregl.NavigationControl({visualizePitch: true}), 'top-right');
    map.addControl(new maplibregl.ScaleControl({unit: 'metric'}), 'bottom-left');
    map.addControl(new maplibregl.AttributionControl({compact: false, customAttribution: OSM_ATTRIBUTION}), 'bottom-right');

    // Style layers exist from 'load' on; the boxes may already be unchecked (restored form state).
    map.once('load', function () {
      bindLayerSwitcher(map);
      bindInteraction(map);
    });

    map.once('idle', function () {
      document.body.dataset.mapReady = '1';
    });

    window.cityMap = map;
  }

  // The public portal's maps (static/js/portal.js, published.js) start from the same style.
  window.CityTwinMap = {buildStyle: buildStyle, popupContent: popupContent, attribution: OSM_ATTRIBUTION};

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
