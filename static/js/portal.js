/*
 * The public front page: the city map (static/js/map.js's style) with the open sensors as markers showing
 * their latest headline value, refreshed from the cached /api/public/sensors/ every `refresh_s`; the list
 * of sensors beside it; district shading from /api/public/conditions/<dataset>/ when the privacy module
 * is installed. Configuration arrives as a json_script element (CSP: no inline script); every value from
 * the server goes into the page through textContent.
 */
(function () {
  'use strict';

  var KIND_CLASS = {traffic: 'traffic', air_quality: 'air'};

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function readConfig() {
    var element = document.getElementById('portal-config');
    return element ? JSON.parse(element.textContent) : {};
  }

  function headline(feature, catalog) {
    var props = feature.properties || {};
    var kind = catalog[props.kind] || {};
    var name = kind.headline;
    var value = props.values ? props.values[name] : undefined;
    var prop = (kind.properties || {})[name] || {};
    return {
      name: name,
      label: prop.label || name,
      unit: prop.unit || '',
      value: typeof value === 'number' ? Math.round(value * 10) / 10 : null
    };
  }

  function describe(feature, catalog) {
    var props = feature.properties || {};
    var kind = catalog[props.kind] || {properties: {}};
    var root = el('div', 'feature-popup');
    root.appendChild(el('h3', 'feature-popup-title', props.name || props.code));
    root.appendChild(el('p', 'feature-popup-kind', (kind.label || props.kind) + ' sensor ' + props.code));
    var table = el('table', 'feature-popup-table');
    var body = el('tbody');
    Object.keys(props.values || {}).sort().forEach(function (name) {
      var prop = kind.properties[name] || {label: name, unit: ''};
      var row = el('tr');
      row.appendChild(el('th', null, prop.label));
      row.appendChild(el('td', null, String(Math.round(props.values[name] * 10) / 10) + ' ' + prop.unit));
      body.appendChild(row);
    });
    table.appendChild(body);
    root.appendChild(table);
    root.appendChild(el('p', 'feature-popup-kind', props.time ? 'Reading of ' + new Date(props.time).toLocaleString() : 'No reading yet'));
    return root;
  }

  function Sensors(map, config) {
    this.map = map;
    this.config = config;
    this.markers = {};
  }

  Sensors.prototype.render = function (collection) {
    var catalog = collection.catalog || this.config.catalog || {};
    var seen = {};
    var list = document.getElementById('sensor-list');
    var items = [];
    var self = this;
    (collection.features || []).forEach(function (feature) {
      var props = feature.properties || {};
      var head = headline(feature, catalog);
      var text = head.value === null ? '–' : String(head.value);
      seen[props.code] = true;
      var marker = self.markers[props.code];
      if (!marker && self.map) {
        var node = el('button', 'sensor-marker');
        node.type = 'button';
        node.dataset.code = props.code;
        marker = new maplibregl.Marker({element: node}).setLngLat(feature.geometry.coordinates).addTo(self.map);
        marker.setPopup(new maplibregl.Popup({offset: 14, className: 'citytwin-popup', maxWidth: '300px'}));
        self.markers[props.code] = marker;
      }
      if (marker) {
        var element = marker.getElement();
        element.className = 'sensor-marker sensor-' + (KIND_CLASS[props.kind] || 'other') + (props.stale ? ' sensor-stale' : '');
        element.textContent = text;
        element.title = (props.name || props.code) + ': ' + head.label + ' ' + text + ' ' + head.unit;
        element.setAttribute('aria-label', element.title);
        marker.getPopup().setDOMContent(describe(feature, catalog));
      }
      var item = el('li', 'sensor-item');
      item.dataset.code = props.code;
      item.dataset.kind = props.kind;
      item.appendChild(el('span', 'legend-dot legend-' + (props.stale ? 'stale' : (KIND_CLASS[props.kind] || 'other'))));
      item.appendChild(el('span', 'sensor-name', props.name || props.code));
      var value = el('span', 'sensor-value', text + (head.value === null ? '' : ' ' + head.unit));
      value.title = head.label;
      item.appendChild(value);
      items.push(item);
    });
    Object.keys(this.markers).forEach(function (code) {
      if (!seen[code]) {
        self.markers[code].remove();
        delete self.markers[code];
      }
    });
    if (list) {
      list.replaceChildren.apply(list, items);
      list.dataset.count = String(items.length);
    }
  };

  function setStatus(id, state, text) {
    var status = document.getElementById(id);
    if (status) {
      status.dataset.state = state;
      status.textContent = text;
    }
  }

  function refreshSensors(sensors, config) {
    fetch(config.sensors_url, {credentials: 'omit'}).then(function (response) {
      if (!response.ok) { throw new Error('HTTP ' + response.status); }
      return response.json();
    }).then(function (collection) {
      sensors.render(collection);
      var count = (collection.features || []).length;
      setStatus('sensor-status', 'ready', count + ' open sensors, updated ' + new Date().toLocaleTimeString());
    }).catch(function () {
      setStatus('sensor-status', 'error', 'The latest values could not be loaded; retrying.');
    });
  }

  function bindChoropleth(map) {
    var select = document.getElementById('choropleth-dataset');
    if (!select || !map) { return; }
    select.addEventListener('change', function () {
      var dataset = select.value;
      if (map.getLayer('conditions-fill')) { map.removeLayer('conditions-fill'); }
      if (map.getSource('conditions')) { map.removeSource('conditions'); }
      if (!dataset) { return; }
      fetch('/api/public/conditions/' + encodeURIComponent(dataset) + '/').then(function (r) { return r.json(); })
        .then(function (data) {
          var values = (data.features || []).map(function (f) { return f.properties.value; })
            .filter(function (v) { return typeof v === 'number'; });
          var low = values.length ? Math.min.apply(null, values) : 0;
          var high = values.length ? Math.max.apply(null, values) : 1;
          if (high <= low) { high = low + 1; }
          map.addSource('conditions', {type: 'geojson', data: data});
          map.addLayer({
            id: 'conditions-fill', type: 'fill', source: 'conditions',
            paint: {
              'fill-color': ['case', ['!=', ['typeof', ['get', 'value']], 'number'], '#c4c8cf',
                ['interpolate', ['linear'], ['get', 'value'], low, '#fde7c8', high, '#c2410c']],
              'fill-opacity': 0.45
            }
          }, map.getLayer('buildings-3d') ? 'buildings-3d' : undefined);
        });
    });
  }

  function init() {
    var container = document.getElementById('portal-map');
    var config = readConfig();
    var map = null;
    if (container && typeof maplibregl !== 'undefined' && window.CityTwinMap) {
      try {
        map = new maplibregl.Map({
          container: container,
          style: window.CityTwinMap.buildStyle(),
          bounds: config.bounds,
          fitBoundsOptions: {padding: 30, pitch: 45, bearing: -15},
          pitch: 45,
          bearing: -15,
          maxZoom: 19,
          attributionControl: false
        });
        map.addControl(new maplibregl.NavigationControl({visualizePitch: true}), 'top-right');
        map.addControl(new maplibregl.AttributionControl({compact: false, customAttribution: window.CityTwinMap.attribution}), 'bottom-right');
        map.once('idle', function () { document.body.dataset.mapReady = '1'; });
      } catch (error) {
        map = null;
        var message = document.getElementById('map-message');
        if (message) {
          message.textContent = 'The map needs WebGL, which this browser does not provide.';
          message.hidden = false;
        }
      }
    }
    var sensors = new Sensors(map, config);
    refreshSensors(sensors, config);
    window.setInterval(function () { refreshSensors(sensors, config); }, Math.max(10, config.refresh_s || 30) * 1000);
    if (map) { map.once('load', function () { bindChoropleth(map); }); }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
