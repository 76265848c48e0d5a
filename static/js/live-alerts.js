/*
 * The live map (/live/), part 6 of 7: the alerts panel (open alerts, acknowledge) and the legend.
 * LivePage and the helpers come from live-base.js (window.CityTwinLive).
 */
(function () {
  'use strict';

  var live = window.CityTwinLive;
  var KIND_ORDER = live.KIND_ORDER;
  var STALE_COLOUR = live.STALE_COLOUR;
  var NO_DATA_COLOUR = live.NO_DATA_COLOUR;
  var SCALES = live.SCALES;
  var el = live.el;
  var clear = live.clear;
  var cookie = live.cookie;
  var ramp = live.ramp;
  var formatNumber = live.formatNumber;
  var formatTime = live.formatTime;
  var formatAge = live.formatAge;
  var formatDuration = live.formatDuration;
  var LivePage = live.LivePage;

  // --- alerts --------------------------------------------------------------------------------------

  LivePage.prototype.renderAlerts = function () {
    var self = this;
    var list = document.getElementById('live-alert-list');
    var alerts = Object.keys(this.state.alerts).map(function (id) { return self.state.alerts[id]; });
    alerts.sort(function (a, b) { return Date.parse(b.started_at) - Date.parse(a.started_at); });
    clear(list);
    this.alertAges = [];
    alerts.forEach(function (alert) { list.appendChild(self.buildAlert(alert)); });
    document.getElementById('live-alert-count').textContent = String(alerts.length);
    document.getElementById('live-alert-count').classList.toggle('is-zero', alerts.length === 0);
    document.getElementById('live-alerts-empty').hidden = alerts.length > 0;
  };

  LivePage.prototype.buildAlert = function (alert) {
    var self = this;
    var li = el('li', 'live-alert' + (alert.acknowledged_by ? ' is-acknowledged' : ''));
    li.dataset.alertId = String(alert.id);
    li.dataset.alertSensor = alert.sensor; // not data-sensor: that marks the sensor list's rows
    li.tabIndex = 0;
    li.title = 'Show ' + alert.sensor + ' on the map';

    var head = el('div', 'live-alert-head');
    head.appendChild(el('span', 'live-alert-kind live-alert-kind-' + alert.kind, alert.kind === 'anomaly' ? 'Anomaly' : 'Threshold'));
    var started = el('span', 'live-alert-started');
    head.appendChild(started);
    li.appendChild(head);

    li.appendChild(el('p', 'live-alert-message', alert.message));
    var meta = this.directory[alert.sensor];
    var sensorLine = el('p', 'live-alert-sensor');
    sensorLine.appendChild(el('span', 'live-label', 'Sensor '));
    sensorLine.appendChild(el('span', null, meta && meta.name ? meta.name + ' (' + alert.sensor + ')' : alert.sensor));
    li.appendChild(sensorLine);

    var foot = el('div', 'live-alert-foot');
    if (alert.acknowledged_by) {
      var ack = el('p', 'live-alert-ack');
      ack.appendChild(el('span', 'live-label', 'Acknowledged by '));
      ack.appendChild(el('strong', 'live-alert-ack-by', alert.acknowledged_by));
      if (alert.acknowledged_at) {
        ack.appendChild(document.createTextNode(' at ' + formatTime(Date.parse(alert.acknowledged_at))));
      }
      foot.appendChild(ack);
    } else {
      var button = el('button', 'live-ack-button', 'Acknowledge');
      button.type = 'button';
      button.addEventListener('click', function (event) {
        event.stopPropagation();
        self.acknowledge(alert, button, foot);
      });
      foot.appendChild(button);
    }
    li.appendChild(foot);

    var go = function () { self.focusAlert(alert); };
    li.addEventListener('click', go);
    li.addEventListener('keydown', function (event) {
      if ((event.key === 'Enter' || event.key === ' ') && event.target === li) {
        event.preventDefault();
        go();
      }
    });
    this.alertAges.push({node: started, at: Date.parse(alert.started_at)});
    this.renderAlertAge(this.alertAges[this.alertAges.length - 1]);
    return li;
  };

  LivePage.prototype.renderAlertAge = function (entry) {
    if (!isFinite(entry.at)) {
      entry.node.textContent = '';
      return;
    }
    entry.node.textContent = 'since ' + formatTime(entry.at) + ' · ' + formatAge(Math.max(0, (Date.now() - entry.at) / 1000));
  };

  LivePage.prototype.renderAlertAges = function () {
    var self = this;
    (this.alertAges || []).forEach(function (entry) { self.renderAlertAge(entry); });
  };

  LivePage.prototype.focusAlert = function (alert) {
    if (this.info(alert.sensor).kind) {
      this.select(alert.sensor, {fly: true});
    } else if (this.map && isFinite(alert.lon) && isFinite(alert.lat)) {
      this.map.flyTo({center: [alert.lon, alert.lat], zoom: Math.max(this.map.getZoom(), 15), essential: true});
    }
  };

  LivePage.prototype.acknowledge = function (alert, button, foot) {
    var self = this;
    button.disabled = true;
    button.textContent = 'Acknowledging…';
    var old = foot.querySelector('.live-alert-error');
    if (old) {
      foot.removeChild(old);
    }
    fetch('/api/alerts/' + encodeURIComponent(String(alert.id)) + '/acknowledge/', {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': cookie('csrftoken')},
      body: JSON.stringify({note: ''})
    }).then(function (response) {
      if (!response.ok) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          throw new Error(body.detail || 'HTTP ' + response.status);
        });
      }
      return response.json();
    }).then(function (item) {
      // The streamed alert item normally arrives first; this covers a socket that is reconnecting.
      if (item && item.id !== undefined && self.state.alerts[item.id]) {
        self.applyAlerts([item], false);
      }
    }).catch(function (error) {
      button.disabled = false;
      button.textContent = 'Acknowledge';
      foot.appendChild(el('p', 'live-alert-error', 'Could not acknowledge: ' + error.message));
    });
  };

  // --- the legend ----------------------------------------------------------------------------------

  LivePage.prototype.buildLegend = function () {
    var self = this;
    var legend = document.getElementById('live-legend');
    KIND_ORDER.forEach(function (kind) {
      var scale = SCALES[kind];
      var unit = '';
      (self.config.catalog[kind] || []).forEach(function (p) {
        if (p.name === self.config.headline[kind]) {
          unit = p.unit;
        }
      });
      var block = el('div', 'live-legend-block');
      block.appendChild(el('p', 'live-legend-title', scale.title + (unit ? ' (' + unit + ')' : '')));
      if (scale.type === 'ramp') {
        var bar = el('div', 'live-legend-ramp');
        var n = scale.stops.length - 1;
        bar.style.background = 'linear-gradient(to right, ' + scale.stops.map(function (s, i) {
          return s[1] + ' ' + Math.round((i / n) * 100) + '%';
        }).join(', ') + ')';
        block.appendChild(bar);
        var ticks = el('div', 'live-legend-ticks');
        scale.stops.forEach(function (s, i) {
          ticks.appendChild(el('span', null, (i === n ? '≥' : '') + formatNumber(s[0])));
        });
        block.appendChild(ticks);
      } else {
        // Steps: one equal segment per band, its range underneath, its name as a tooltip.
        var bands = el('div', 'live-legend-bands');
        var labels = el('div', 'live-legend-bands live-legend-band-labels');
        var lower = null;
        scale.steps.forEach(function (s) {
          var band = el('span', 'live-legend-band');
          band.style.backgroundColor = s[1];
          band.title = s[2];
          bands.appendChild(band);
          var range = lower === null ? '<' + formatNumber(s[0])
            : s[0] === Infinity ? '≥' + formatNumber(lower)
              : formatNumber(lower) + '–' + formatNumber(s[0]);
          labels.appendChild(el('span', null, range));
          lower = s[0];
        });
        block.appendChild(bands);
        block.appendChild(labels);
        var names = el('div', 'live-legend-ticks');
        names.appendChild(el('span', null, scale.steps[0][2]));
        names.appendChild(el('span', null, scale.steps[scale.steps.length - 1][2]));
        block.appendChild(names);
      }
      legend.appendChild(block);
    });
    var other = el('ul', 'live-legend-other');
    [[STALE_COLOUR, 'stale (> ' + formatDuration(this.config.staleAfterS) + ')'], [NO_DATA_COLOUR, 'no data yet']].forEach(function (row) {
      var item = el('li');
      var sw = el('span', 'live-legend-swatch');
      sw.style.backgroundColor = row[0];
      item.appendChild(sw);
      item.appendChild(el('span', 'live-legend-name', row[1]));
      other.appendChild(item);
    });
    legend.appendChild(other);
  };
}());
