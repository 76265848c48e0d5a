/*
 * The live map (/live/), part 5 of 7: the selected sensor's chart (Plotly, loaded on demand, refreshed from the rollups).
 * LivePage and the helpers come from live-base.js (window.CityTwinLive).
 */
(function () {
  'use strict';

  var live = window.CityTwinLive;
  var CHART_COLOURS = live.CHART_COLOURS;
  var CHART_REFRESH_MS = live.CHART_REFRESH_MS;
  var plotlyTime = live.plotlyTime;
  var LivePage = live.LivePage;

  // --- the chart -----------------------------------------------------------------------------------

  // plotly.min.js bundles its own MapLibre and injects that version's CSS into <head>, after ours: move
  // our pinned maplibre-gl.css and live.css back to the end so that they win the cascade.
  function keepOurStylesLast() {
    Array.prototype.forEach.call(document.querySelectorAll('link[data-live-style]'), function (link) {
      document.head.appendChild(link);
    });
  }

  LivePage.prototype.loadPlotly = function () {
    if (window.Plotly) {
      return Promise.resolve(window.Plotly);
    }
    if (!this.plotly) {
      var src = this.root.dataset.plotlySrc;
      this.plotly = new Promise(function (resolve, reject) {
        var script = document.createElement('script');
        script.src = src;
        script.async = true;
        script.onload = function () {
          if (!window.Plotly) {
            reject(new Error('no Plotly'));
            return;
          }
          keepOurStylesLast();
          resolve(window.Plotly);
        };
        script.onerror = function () { reject(new Error('the chart library did not load')); };
        document.head.appendChild(script);
      });
      var self = this;
      this.plotly.catch(function () { self.plotly = null; });
    }
    return this.plotly;
  };

  LivePage.prototype.scheduleChartRefresh = function () {
    var self = this;
    if (!this.chart.code || this.chart.timer) {
      return;
    }
    var wait = Math.max(0, this.chart.fetchedAt + CHART_REFRESH_MS - Date.now());
    this.chart.timer = window.setTimeout(function () {
      self.chart.timer = null;
      self.refreshChart();
    }, wait);
  };

  LivePage.prototype.chartMessage = function (text) {
    var box = document.getElementById('live-chart-message');
    box.textContent = text || '';
    box.hidden = !text;
  };

  LivePage.prototype.clearChart = function () {
    var div = document.getElementById('live-chart');
    if (window.Plotly && div.data) {
      window.Plotly.purge(div);
    }
    this.chartMessage('Loading the last hour…');
  };

  LivePage.prototype.refreshChart = function () {
    var self = this;
    var chart = this.chart;
    var code = chart.code;
    if (!code) {
      return;
    }
    if (chart.loading) {
      this.scheduleChartRefresh(); // readings arrived meanwhile: fetch again after this one
      return;
    }
    chart.loading = true;
    chart.fetchedAt = Date.now();
    var url = '/api/sensors/' + encodeURIComponent(code) + '/readings/?resolution=1m';
    Promise.all([
      this.loadPlotly(),
      fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/json'}}).then(function (response) {
        if (!response.ok) {
          throw new Error('the readings could not be loaded (HTTP ' + response.status + ')');
        }
        return response.json();
      })
    ]).then(function (results) {
      if (self.chart === chart) {
        self.drawChart(results[0], results[1]);
      }
    }).catch(function (error) {
      if (self.chart === chart) {
        self.chartMessage('No chart: ' + error.message + '.');
      }
    }).then(function () {
      chart.loading = false;
    });
  };

  LivePage.prototype.drawChart = function (Plotly, series) {
    var info = this.info(this.chart.code);
    var headlineName = info.headline ? info.headline.name : null;
    var props = (this.config.catalog[info.kind] || []).slice().sort(function (a, b) {
      return (b.name === headlineName) - (a.name === headlineName);
    });
    var points = series.points || [];
    var times = points.map(function (p) { return plotlyTime(Date.parse(p.time)); });
    var headlineUnit = info.headline ? info.headline.unit : null;
    var secondUnit = null;
    var traces = [];
    props.forEach(function (p, index) {
      var ys = points.map(function (pt) {
        var v = pt.values ? pt.values[p.name] : undefined;
        return typeof v === 'number' ? v : null;
      });
      if (!ys.some(function (v) { return v !== null; })) {
        return;
      }
      var axis = 'y';
      var visible = true;
      if (p.unit !== headlineUnit) {
        secondUnit = secondUnit || p.unit;
        axis = 'y2';
        // A third unit would share the right axis with another: offered in the legend, off by default.
        visible = p.unit === secondUnit ? true : 'legendonly';
      }
      traces.push({
        type: 'scatter',
        mode: points.length > 1 ? 'lines' : 'markers',
        name: p.label + ' (' + p.unit + ')',
        x: times,
        y: ys,
        yaxis: axis,
        visible: visible,
        connectgaps: false,
        line: {width: p.name === headlineName ? 2.5 : 1.5, color: CHART_COLOURS[index % CHART_COLOURS.length]},
        marker: {color: CHART_COLOURS[index % CHART_COLOURS.length]},
        hovertemplate: '%{y:.3~f} ' + p.unit + '<extra>' + p.label + '</extra>'
      });
    });
    var div = document.getElementById('live-chart');
    if (!traces.length) {
      if (div.data) {
        Plotly.purge(div);
      }
      this.chartMessage('No readings in the last hour.');
      return;
    }
    this.chartMessage('');
    var end = Date.now();
    var layout = {
      autosize: true,
      margin: {l: 52, r: secondUnit ? 56 : 16, t: 8, b: 36},
      paper_bgcolor: 'rgba(0,0,0,0)',
      plot_bgcolor: 'rgba(0,0,0,0)',
      font: {family: 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif', size: 11, color: '#3b4452'},
      showlegend: true,
      legend: {orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom', font: {size: 11}},
      hovermode: 'x unified',
      xaxis: {type: 'date', range: [plotlyTime(end - 3600 * 1000), plotlyTime(end)], gridcolor: '#eceff3', tickformat: '%H:%M'},
      yaxis: {title: {text: headlineUnit || ''}, gridcolor: '#eceff3', zeroline: false, rangemode: 'tozero'},
      uirevision: this.chart.code
    };
    if (secondUnit) {
      layout.yaxis2 = {title: {text: secondUnit}, overlaying: 'y', side: 'right', showgrid: false, zeroline: false, rangemode: 'tozero'};
    }
    var injected = document.head.querySelectorAll('style').length;
    Plotly.react(div, traces, layout, {displayModeBar: false, responsive: true, displaylogo: false});
    if (document.head.querySelectorAll('style').length !== injected) {
      keepOurStylesLast();
    }
  };
}());
