#!/bin/sh
# Re-copy the vendored front-end libraries from node_modules into static/vendor/.
#
# The versions are pinned in package.json / package-lock.json; to update, change the pin, run
# `npm install` (or `npm ci` to reproduce the lock), then this script, and commit static/vendor/.
# The served files are committed so that production needs neither Node nor a CDN (CSP: 'self' only).
set -eu

ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
NM="$ROOT/node_modules"
VENDOR="$ROOT/static/vendor"

if [ ! -d "$NM/maplibre-gl/dist" ] || [ ! -d "$NM/ol/dist" ] || [ ! -f "$NM/plotly.js-basic-dist-min/plotly-basic.min.js" ]; then
    echo "node_modules is missing maplibre-gl, ol or plotly.js-basic-dist-min: run 'npm ci' in $ROOT first" >&2
    exit 1
fi

# copy_js SRC DEST: the dist file minus its trailing sourceMappingURL comment. We do not ship the
# ~6 MB source maps, and ManifestStaticFilesStorage (prod) fails collectstatic on a missing map.
copy_js() {
    sed '/^\/\/# sourceMappingURL=/d' "$1" > "$2"
}

mkdir -p "$VENDOR/maplibre-gl" "$VENDOR/ol" "$VENDOR/plotly"

copy_js "$NM/maplibre-gl/dist/maplibre-gl.js" "$VENDOR/maplibre-gl/maplibre-gl.js"
cp "$NM/maplibre-gl/dist/maplibre-gl.css" "$VENDOR/maplibre-gl/maplibre-gl.css"
cp "$NM/maplibre-gl/LICENSE.txt" "$VENDOR/maplibre-gl/LICENSE.txt"

copy_js "$NM/ol/dist/ol.js" "$VENDOR/ol/ol.js"
cp "$NM/ol/ol.css" "$VENDOR/ol/ol.css"
cp "$NM/ol/LICENSE.md" "$VENDOR/ol/LICENSE.md"

# Plotly's basic bundle (scatter, bar, pie; no WebGL traces, so no eval-like shader code) ships no map.
copy_js "$NM/plotly.js-basic-dist-min/plotly-basic.min.js" "$VENDOR/plotly/plotly-basic.min.js"
cp "$NM/plotly.js-basic-dist-min/LICENSE" "$VENDOR/plotly/LICENSE"

ml_version=$(node -p "require('$NM/maplibre-gl/package.json').version")
ol_version=$(node -p "require('$NM/ol/package.json').version")
plotly_version=$(node -p "require('$NM/plotly.js-basic-dist-min/package.json').version")
echo "vendored maplibre-gl $ml_version, ol $ol_version and plotly.js-basic-dist-min $plotly_version into $VENDOR"
echo "update the version table in static/vendor/README.md if they changed"
