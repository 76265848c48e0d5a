/*
 * The live map (/live/), part 4 of 7: the map (MapLibre style made only of our tiles, the sensor layers) and the selection: popup and detail panel.
 * LivePage and the helpers come from live-base.js (window.CityTwinLive).
 */
(function () {
  'use strict';

  var live = window.CityTwinLive;
  var OSM_ATTRIBUTION = live.OSM_ATTRIBUTION;
  var el = live.el;
  var clear = live.clear;
  var formatValue = live.formatValue;
  var formatTime = live.formatTime;
  var formatAge = live.formatAge;
  var formatDuration = live.formatDuration;
  var LivePage = live.LivePage;

  // --- the map -------------------------------------------------------------------------------------

  function tileUrl(layer) {
    // Absolute (workers resolve relative URLs against a blob: URL), braces left unencoded.
    return new URL('/tiles/' + encodeURIComponent(layer) + '/', window.location.origin).href + '{z}/{x}/{y}.pbf';
  }

  function vectorSource(layer, minzoom, maxzoom) {
    return {type: 'vector', tiles: [tileUrl(layer)], minzoom: minzoom, maxzoom: maxzoom, attribution: OSM_ATTRIBUTION};
  }

  function byZoom(stops) {
    return ['interpolate', ['exponential', 1.5], ['zoom']].concat(stops);
  }

  var MAJOR_ROADS = ['motorway', 'motorway_link', 'trunk', 'trunk_link', 'primary', 'primary_link'];
  var MEDIUM_ROADS = ['secondary', 'secondary_link', 'tertiary', 'tertiary_link'];
  var PATHS = ['footway', 'cycleway', 'path', 'pedestrian', 'steps', 'bridleway', 'corridor'];

  function highwayIn(list) {
    return ['in', ['to-string', ['get', 'highway']], ['literal', list]];
  }

  // A calm, light base so that the coloured sensors carry the information.
  function buildStyle() {
    return {
      version: 8,
      name: 'CityTwin live',
      sources: {
        districts: vectorSource('districts', 8, 14),
        roads: vectorSource('roads', 10, 16),
        buildings: vectorSource('buildings', 12, 16),
        sensors: {type: 'geojson', data: {type: 'FeatureCollection', features: []}, promoteId: 'code'}
      },
      layers: [
        {id: 'background', type: 'background', paint: {'background-color': '#f1f3f6'}},
        {
          id: 'buildings', type: 'fill', source: 'buildings', 'source-layer': 'buildings',
          paint: {'fill-color': '#dde1e7', 'fill-outline-color': '#c8ced7'}
        },
        {
          id: 'roads-casing', type: 'line', source: 'roads', 'source-layer': 'roads', minzoom: 12,
          filter: ['!', highwayIn(PATHS)],
          layout: {'line-cap': 'round', 'line-join': 'round'},
          paint: {'line-color': '#c6ccd5', 'line-width': byZoom([12, 1.5, 16, 6.5, 19, 26])}
        },
        {
          id: 'roads-path', type: 'line', source: 'roads', 'source-layer': 'roads', minzoom: 15,
          filter: highwayIn(PATHS),
          paint: {'line-color': '#c4c9d1', 'line-width': byZoom([15, 0.5, 19, 2]), 'line-dasharray': [2, 1.5]}
        },
        {
          id: 'roads-minor', type: 'line', source: 'roads', 'source-layer': 'roads', minzoom: 12,
          filter: ['all', ['!', highwayIn(PATHS)], ['!', highwayIn(MAJOR_ROADS)], ['!', highwayIn(MEDIUM_ROADS)]],
          layout: {'line-cap': 'round', 'line-join': 'round'},
          paint: {'line-color': '#ffffff', 'line-width': byZoom([12, 0.5, 16, 4, 19, 20])}
        },
        {
          id: 'roads-medium', type: 'line', source: 'roads', 'source-layer': 'roads',
          filter: highwayIn(MEDIUM_ROADS),
          layout: {'line-cap': 'round', 'line-join': 'round'},
          paint: {'line-color': '#fdf3d8', 'line-width': byZoom([10, 0.8, 16, 6, 19, 24])}
        },
        {
          id: 'roads-major', type: 'line', source: 'roads', 'source-layer': 'roads',
          filter: highwayIn(MAJOR_ROADS),
          layout: {'line-cap': 'round', 'line-join': 'round'},
          paint: {'line-color': '#fbe3c4', 'line-width': byZoom([10, 1.2, 16, 8, 19, 30])}
        },
        {
          id: 'districts-outline', type: 'line', source: 'districts', 'source-layer': 'districts',
          paint: {'line-color': '#8b95c9', 'line-opacity': 0.3, 'line-width': 1}
        },
        {
          id: 'sensors-selected', type: 'circle', source: 'sensors',
          filter: ['==', ['get', 'code'], ''],
          paint: {
            'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 10, 16, 16, 19, 22],
            'circle-color': 'rgba(37, 99, 235, 0.18)',
            'circle-stroke-color': '#1d4ed8',
            'circle-stroke-width': 2
          }
        },
        {
          id: 'sensors', type: 'circle', source: 'sensors',
          paint: {
            'circle-color': ['get', 'colour'],
            // Stale and silent sensors are smaller: the eye goes to what is current.
            'circle-radius': ['interpolate', ['linear'], ['zoom'],
              12, ['case', ['get', 'current'], 5, 3.5],
              16, ['case', ['get', 'current'], 9, 6],
              19, ['case', ['get', 'current'], 14, 9]],
            'circle-stroke-color': ['case', ['get', 'has_data'], '#ffffff', '#7b8494'],
            'circle-stroke-width': ['case', ['get', 'has_data'], 1.5, 1.5],
            'circle-opacity': ['case', ['get', 'current'], 1, 0.85]
          }
        }
      ]
    };
  }

  LivePage.prototype.initMap = function () {
    var self = this;
    var container = document.getElementById('live-map');
    if (typeof maplibregl === 'undefined') {
      this.mapMessage('The map library did not load.');
      this.mapFailed = true;
      return;
    }
    try {
      this.map = new maplibregl.Map({
        container: container,
        style: buildStyle(),
        bounds: this.config.bounds,
        fitBoundsOptions: {padding: 30},
        maxZoom: 19,
        maxPitch: 60,
        attributionControl: false,
        transformRequest: function (url) {
          if (url.indexOf(window.location.origin + '/') === 0) {
            return {url: url, credentials: 'same-origin'};
          }
          return {url: url};
        }
      });
    } catch (error) {
      this.mapMessage('The map needs WebGL, which this browser does not provide. The lists still update.');
      this.mapFailed = true;
      return;
    }
    var map = this.map;
    map.addControl(new maplibregl.NavigationControl({visualizePitch: true}), 'top-right');
    map.addControl(new maplibregl.ScaleControl({unit: 'metric'}), 'bottom-right');
    map.addControl(new maplibregl.AttributionControl({compact: false, customAttribution: OSM_ATTRIBUTION}), 'bottom-right');
    this.popup = new maplibregl.Popup({closeButton: true, closeOnClick: false, maxWidth: '280px', className: 'live-popup', offset: 12});
    this.popup.on('close', function () {
      self.popupCode = null;
    });
    map.once('load', function () {
      self.mapLoaded = true;
      self.updateMapSource();
      self.applyFilters();
      self.checkReady();
    });
    map.on('mouseenter', 'sensors', function () { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', 'sensors', function () { map.getCanvas().style.cursor = ''; });
    map.on('click', function (event) {
      var box = [[event.point.x - 5, event.point.y - 5], [event.point.x + 5, event.point.y + 5]];
      var hits = map.getLayer('sensors') ? map.queryRenderedFeatures(box, {layers: ['sensors']}) : [];
      if (hits.length) {
        self.select(hits[0].properties.code, {fly: false});
      }
    });
    window.liveMap = map;
  };

  LivePage.prototype.mapMessage = function (text) {
    var box = document.getElementById('live-map-message');
    box.textContent = text;
    box.hidden = false;
  };

  LivePage.prototype.features = function () {
    var self = this;
    return this.codes().map(function (code) {
      var info = self.info(code);
      if (!isFinite(info.lon) || !isFinite(info.lat)) {
        return null;
      }
      return {
        type: 'Feature',
        geometry: {type: 'Point', coordinates: [info.lon, info.lat]},
        properties: {
          code: code,
          kind: info.kind,
          value: info.value,
          time: info.item ? info.item.time : null,
          colour: self.colourOf(info),
          has_data: info.hasData,
          stale: info.stale,
          current: info.hasData && !info.stale
        }
      };
    }).filter(Boolean);
  };

  LivePage.prototype.updateMapSource = function () {
    if (!this.map || !this.mapLoaded) {
      return;
    }
    var source = this.map.getSource('sensors');
    if (source) {
      source.setData({type: 'FeatureCollection', features: this.features()});
    }
  };

  // --- selection: popup and detail panel -----------------------------------------------------------

  LivePage.prototype.select = function (code, options) {
    var info = this.info(code);
    if (!info.kind) {
      return;
    }
    var previous = this.selected;
    this.selected = code;
    if (previous && this.rows[previous]) {
      this.rows[previous].li.classList.remove('is-selected');
    }
    if (this.rows[code]) {
      this.rows[code].li.classList.add('is-selected');
      this.rows[code].li.scrollIntoView({block: 'nearest'});
    }
    this.applyFilters();
    var detail = document.getElementById('live-detail');
    detail.hidden = false;
    this.root.classList.add('has-detail');
    this.renderDetail();
    this.popupCode = code;
    this.renderPopup();
    if (this.map && isFinite(info.lon) && isFinite(info.lat)) {
      this.map.resize();
      var padding = {top: 40, left: 40, right: 40, bottom: 40};
      if (options && options.fly) {
        this.map.flyTo({center: [info.lon, info.lat], zoom: Math.max(this.map.getZoom(), 15), padding: padding, essential: true});
      } else {
        var p = this.map.project([info.lon, info.lat]);
        var c = this.map.getContainer();
        if (p.x < 0 || p.y < 0 || p.x > c.clientWidth || p.y > c.clientHeight) {
          this.map.easeTo({center: [info.lon, info.lat], padding: padding});
        }
      }
    }
    if (previous !== code) {
      window.clearTimeout(this.chart.timer);
      // A new object: a request still running for the previous sensor finishes on the old one.
      this.chart = {code: code, fetchedAt: 0, timer: null, loading: false};
      this.clearChart();
      this.refreshChart();
    }
  };

  LivePage.prototype.deselect = function () {
    var code = this.selected;
    this.selected = null;
    if (code && this.rows[code]) {
      this.rows[code].li.classList.remove('is-selected');
    }
    document.getElementById('live-detail').hidden = true;
    this.root.classList.remove('has-detail');
    if (this.popup) {
      this.popup.remove();
    }
    window.clearTimeout(this.chart.timer);
    this.chart = {code: null, fetchedAt: 0, timer: null, loading: false};
    this.applyFilters();
    if (this.map) {
      this.map.resize();
    }
  };

  LivePage.prototype.bindPanels = function () {
    var self = this;
    document.getElementById('live-detail-close').addEventListener('click', function () { self.deselect(); });
    document.addEventListener('keydown', function (event) {
      if (event.key === 'Escape' && self.selected) {
        self.deselect();
      }
    });
  };

  LivePage.prototype.stateChip = function (node, info) {
    node.className = 'live-chip';
    if (!info.hasData) {
      node.textContent = 'No data';
      node.classList.add('is-nodata');
    } else if (info.stale) {
      node.textContent = 'Stale';
      node.classList.add('is-stale');
      node.title = 'No reading for more than ' + formatDuration(this.config.staleAfterS);
    } else {
      node.textContent = 'Live';
      node.classList.add('is-live');
      node.title = '';
    }
  };

  LivePage.prototype.renderDetail = function () {
    var info = this.info(this.selected);
    document.getElementById('live-detail-dot').style.backgroundColor = this.colourOf(info);
    document.getElementById('live-detail-title').textContent = info.name;
    document.getElementById('live-detail-sub').textContent =
      info.kindLabel + (info.name !== info.code ? ' · ' + info.code : '');
    this.stateChip(document.getElementById('live-detail-state'), info);
    var values = document.getElementById('live-detail-values');
    clear(values);
    var headlineName = info.headline ? info.headline.name : null;
    var props = (this.config.catalog[info.kind] || []).slice().sort(function (a, b) {
      return (b.name === headlineName) - (a.name === headlineName);
    });
    props.forEach(function (p) {
      var v = info.item && info.item.values ? info.item.values[p.name] : undefined;
      if (v === undefined && p.name !== headlineName) {
        return; // this sensor does not measure it
      }
      var wrap = el('div', 'live-detail-value' + (p.name === headlineName ? ' is-headline' : ''));
      wrap.appendChild(el('dt', null, p.label));
      wrap.appendChild(el('dd', null, formatValue(v, p.unit)));
      values.appendChild(wrap);
    });
    this.renderDetailAge();
  };

  LivePage.prototype.renderDetailAge = function () {
    var info = this.info(this.selected);
    var node = document.getElementById('live-detail-time');
    if (info.time === null) {
      node.textContent = 'none yet';
    } else {
      node.textContent = formatTime(info.time) + ' (' + formatAge(info.age) + ')';
    }
    var chip = document.getElementById('live-detail-state');
    if ((chip.textContent === 'Stale') !== info.stale) {
      this.stateChip(chip, info);
      document.getElementById('live-detail-dot').style.backgroundColor = this.colourOf(info);
    }
  };

  LivePage.prototype.renderPopup = function () {
    if (!this.popup || !this.map || !this.popupCode) {
      return;
    }
    var info = this.info(this.popupCode);
    if (!isFinite(info.lon) || !isFinite(info.lat)) {
      return;
    }
    var root = el('div', 'live-popup-body');
    var title = el('h3', 'live-popup-title', info.name);
    root.appendChild(title);
    root.appendChild(el('p', 'live-popup-sub', info.kindLabel + (info.name !== info.code ? ' · ' + info.code : '')));
    var value = el('p', 'live-popup-value');
    if (info.headline) {
      value.appendChild(el('span', 'live-popup-label', info.headline.label + ' '));
    }
    value.appendChild(el('strong', null, info.hasData && info.headline ? formatValue(info.value, info.headline.unit) : 'no data'));
    root.appendChild(value);
    var time = el('p', 'live-popup-time');
    root.appendChild(time);
    var chip = el('span', 'live-chip');
    root.appendChild(chip);
    this.popupRefs = {time: time, chip: chip};
    this.renderPopupAge();
    this.popup.setLngLat([info.lon, info.lat]).setDOMContent(root);
    if (!this.popup.isOpen()) {
      this.popup.addTo(this.map);
    }
  };

  LivePage.prototype.renderPopupAge = function () {
    if (!this.popupRefs || !this.popupCode || !this.popup || !this.popup.isOpen()) {
      return;
    }
    var info = this.info(this.popupCode);
    this.popupRefs.time.textContent = info.time === null
      ? 'No reading yet'
      : 'Reading at ' + formatTime(info.time) + ' · ' + formatAge(info.age);
    this.stateChip(this.popupRefs.chip, info);
    if (info.stale) {
      this.popupRefs.chip.textContent = 'Stale: older than ' + formatDuration(this.config.staleAfterS);
    }
  };
}());
