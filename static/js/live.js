/*
 * The traffic operators' live map (/live/): every sensor of the city coloured by its newest headline
 * value, streamed over the one websocket (/ws/, protocol in docs/streaming.md), with the open alerts.
 *
 * - State comes from two subscriptions: `readings` (all kinds, inside the city's bounds) and `alerts`.
 *   Each starts with a snapshot; updates carry `seq`, and a gap means this connection lost a message,
 *   so we ask for a fresh snapshot (`resync`) instead of guessing.
 * - The socket reconnects with an exponential backoff; close code 4401 means the session is gone, so we
 *   stop and ask the person to log in again.
 * - The style uses only our own vector tiles and circle/line/fill layers (no glyphs, no sprites, no
 *   external URLs), so ages and values are shown in HTML, not as map text.
 * - The CSP allows no inline script: the configuration arrives as a json_script element, and everything
 *   is built with createElement/textContent.
 *
 * The page is split by what each part does: live-base.js, live-stream.js, live-list.js, live-map.js,
 * live-chart.js and live-alerts.js, loaded in that order before this file, which starts the page.
 */
(function () {
  'use strict';

  var LivePage = window.CityTwinLive.LivePage;

  function init() {
    var root = document.getElementById('live');
    if (!root) {
      return;
    }
    var page = new LivePage(root);
    window.livePage = page;
    page.start();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
