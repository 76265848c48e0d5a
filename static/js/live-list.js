/*
 * The live map (/live/), part 3 of 7: the sensor list beside the map: groups by kind, rows, search and kind filters, ages.
 * LivePage and the helpers come from live-base.js (window.CityTwinLive).
 */
(function () {
  'use strict';

  var live = window.CityTwinLive;
  var KIND_ORDER = live.KIND_ORDER;
  var el = live.el;
  var clear = live.clear;
  var formatValue = live.formatValue;
  var formatTime = live.formatTime;
  var formatAge = live.formatAge;
  var LivePage = live.LivePage;

  // --- the list ------------------------------------------------------------------------------------

  LivePage.prototype.buildKindFilter = function () {
    var self = this;
    var box = document.getElementById('live-kinds');
    KIND_ORDER.forEach(function (kind) {
      var label = el('label', 'live-kind');
      var input = el('input');
      input.type = 'checkbox';
      input.value = kind;
      input.checked = true;
      input.addEventListener('change', function () {
        self.hiddenKinds[kind] = !input.checked;
        self.applyFilters();
      });
      var swatch = el('span', 'live-dot live-dot-kind-' + kind);
      label.appendChild(input);
      label.appendChild(swatch);
      label.appendChild(document.createTextNode(self.config.kinds[kind] || kind));
      box.appendChild(label);
    });
    var search = document.getElementById('live-search');
    search.addEventListener('input', function () {
      self.search = search.value.trim().toLowerCase();
      self.applyFilters();
    });
  };

  LivePage.prototype.applyFilters = function () {
    var self = this;
    KIND_ORDER.forEach(function (kind) {
      var group = self.groups[kind];
      if (group) {
        group.section.hidden = !!self.hiddenKinds[kind];
      }
    });
    Object.keys(this.rows).forEach(function (code) {
      var row = self.rows[code];
      var text = (row.name + ' ' + code).toLowerCase();
      row.li.hidden = !!self.search && text.indexOf(self.search) === -1;
    });
    if (this.map && this.mapLoaded) {
      var shown = KIND_ORDER.filter(function (k) { return !self.hiddenKinds[k]; });
      var filter = ['in', ['get', 'kind'], ['literal', shown]];
      this.map.setFilter('sensors', filter);
      this.map.setFilter('sensors-selected', ['all', filter, ['==', ['get', 'code'], this.selected || '']]);
    }
  };

  LivePage.prototype.renderAll = function () {
    var self = this;
    var container = document.getElementById('live-sensor-groups');
    var codes = this.codes();
    var byKind = {};
    codes.forEach(function (code) {
      var info = self.info(code);
      var kind = KIND_ORDER.indexOf(info.kind) === -1 ? 'other' : info.kind;
      (byKind[kind] = byKind[kind] || []).push(info);
    });
    clear(container);
    this.rows = {};
    this.groups = {};
    KIND_ORDER.concat(['other']).forEach(function (kind) {
      var infos = byKind[kind];
      if (!infos || !infos.length) {
        return;
      }
      infos.sort(function (a, b) { return a.name.localeCompare(b.name) || a.code.localeCompare(b.code); });
      var section = el('section', 'live-group');
      section.dataset.kind = kind;
      var head = el('h2', 'live-group-title');
      head.appendChild(el('span', null, self.config.kinds[kind] || 'Other'));
      var counts = el('span', 'live-group-counts');
      head.appendChild(counts);
      section.appendChild(head);
      var list = el('ul', 'live-sensor-list');
      infos.forEach(function (info) {
        list.appendChild(self.buildRow(info));
      });
      section.appendChild(list);
      container.appendChild(section);
      self.groups[kind] = {section: section, counts: counts};
    });
    document.getElementById('live-sensors-empty').hidden = codes.length > 0;
    codes.forEach(function (code) { self.renderSensor(code); });
    this.applyFilters();
    this.updateSummary();
    this.updateMapSource();
    if (this.selected) {
      this.renderDetail();
      this.renderPopup();
    }
  };

  LivePage.prototype.buildRow = function (info) {
    var self = this;
    var li = el('li', 'live-sensor');
    li.dataset.sensor = info.code;
    var button = el('button', 'live-sensor-button');
    button.type = 'button';
    var dot = el('span', 'live-dot');
    var names = el('span', 'live-sensor-names');
    var name = el('span', 'live-sensor-name', info.name);
    var code = el('span', 'live-sensor-code', info.name === info.code ? info.kindLabel : info.code);
    names.appendChild(name);
    names.appendChild(code);
    var figures = el('span', 'live-sensor-figures');
    var value = el('span', 'value');
    var age = el('span', 'age');
    figures.appendChild(value);
    figures.appendChild(age);
    button.appendChild(dot);
    button.appendChild(names);
    button.appendChild(figures);
    button.addEventListener('click', function () { self.select(info.code, {fly: true}); });
    li.appendChild(button);
    this.rows[info.code] = {li: li, dot: dot, value: value, age: age, name: info.name};
    return li;
  };

  LivePage.prototype.renderSensor = function (code) {
    var row = this.rows[code];
    if (!row) {
      this.renderAll(); // a sensor we had not seen: rebuild the list in order
      return;
    }
    var info = this.info(code);
    row.dot.style.backgroundColor = this.colourOf(info);
    row.li.classList.toggle('is-stale', info.stale);
    row.li.classList.toggle('is-nodata', !info.hasData);
    row.li.classList.toggle('is-selected', this.selected === code);
    if (info.hasData) {
      row.value.textContent = info.headline && info.value !== null
        ? formatValue(info.value, info.headline.unit)
        : '–';
      row.value.title = info.headline ? info.headline.label : '';
    } else {
      row.value.textContent = 'no data';
      row.value.title = 'No reading yet';
    }
    this.staleFlags[code] = info.stale;
    this.renderAge(row, info);
  };

  LivePage.prototype.renderAge = function (row, info) {
    if (!info.hasData) {
      row.age.textContent = '';
      return;
    }
    row.age.textContent = info.age === null ? '' : (info.stale ? 'stale · ' : '') + formatAge(info.age);
    row.age.title = info.time === null ? '' : 'Reading time ' + formatTime(info.time);
  };

  LivePage.prototype.updateSummary = function () {
    var self = this;
    var counts = {};
    this.codes().forEach(function (code) {
      var info = self.info(code);
      var c = counts[info.kind] = counts[info.kind] || {live: 0, stale: 0, none: 0};
      if (!info.hasData) {
        c.none += 1;
      } else if (info.stale) {
        c.stale += 1;
      } else {
        c.live += 1;
      }
    });
    Object.keys(this.groups).forEach(function (kind) {
      var c = counts[kind] || {live: 0, stale: 0, none: 0};
      var parts = [c.live + ' live'];
      if (c.stale) {
        parts.push(c.stale + ' stale');
      }
      if (c.none) {
        parts.push(c.none + ' no data');
      }
      self.groups[kind].counts.textContent = parts.join(' · ');
    });
  };

  // Once a second: ages, and the stale flags (a sensor turns stale without any message).
  LivePage.prototype.tick = function () {
    var self = this;
    var flipped = false;
    Object.keys(this.rows).forEach(function (code) {
      var info = self.info(code);
      if (self.staleFlags[code] !== info.stale) {
        flipped = true;
        self.renderSensor(code);
      } else {
        self.renderAge(self.rows[code], info);
      }
    });
    if (flipped) {
      this.updateSummary();
      this.updateMapSource();
    }
    if (this.selected) {
      this.renderDetailAge();
      this.renderPopupAge();
    }
    this.renderAlertAges();
    this.updateReconnectStatus();
  };
}());
