"""THE expected table of the role matrix (tests/test_roles.py): for every URL pattern, websocket topic, tile
layer, open-data download and Dash board, what each role gets.

Outcomes: ok (the role gets through: 2xx/304, or its input is refused with 400/409/413/415/422), login (a
redirect to /accounts/login/), admin-login (to /admin/login/), redirect (elsewhere), 401, 403, 404, 405.
Roles: anonymous, planner, operator, gis_staff, admin, ingest, device.

A row of HTTP is keyed by the URL pattern as the resolver has it, normalised (api/buildings/<pk>/; a
format-suffix variant, api/buildings/<pk>.json, shares its base's row); a key with * is a wildcard
(fnmatch, the first that matches wins, exact keys before any). A row maps a method to an outcome for every
role, or to {role: outcome, "*": the other roles}; "*" as a method covers the methods not named.
Methods tested: GET POST PUT PATCH DELETE (admin: GET POST).

To add a row: find the pattern in the failure message of test_every_route_topic_layer_download_and_board_has_a_row,
copy the nearest row that means the same policy, and say in a comment why when it is not obvious."""

from __future__ import annotations

from typing import Any

ROLES = ("anonymous", "planner", "operator", "gis_staff", "admin", "ingest", "device")


def only(*allowed: str, anonymous: str = "403", others: str = "403", **cells: str) -> dict[str, str]:
    """The roles named get through; anonymous and the others get what is said."""
    return {"*": others, "anonymous": anonymous, **{role: "ok" for role in allowed}, **cells}


EVERYONE = "ok"
NOBODY_405 = "405"
# A read-only page or endpoint for everyone.
PUBLIC_READ: dict[str, Any] = {"GET": EVERYONE, "*": NOBODY_405}
# A city layer of the API: everyone reads; gis_staff and admin pass the write check and meet a read-only view.
LAYER: dict[str, Any] = {"GET": EVERYONE, "*": only(anonymous="403", gis_staff="405", admin="405")}
# API: operators and admins read; writes refused (the view is read-only).
OPERATOR_READ: dict[str, Any] = {"GET": only("operator", "admin"), "*": only(operator="405", admin="405")}
OPERATOR_ACTION: dict[str, Any] = {"POST": only("operator", "admin"), "*": only(operator="405", admin="405")}
# API: planners and admins.
PLANNER_READ: dict[str, Any] = {"GET": only("planner", "admin"), "*": only(planner="405", admin="405")}
PLANNER_ACTION: dict[str, Any] = {"POST": only("planner", "admin"), "*": only(planner="405", admin="405")}
# Pages for signed-in roles: anonymous visitors go to the login first.
LOGIN_FIRST = {"anonymous": "login"}
# The planner's pages answer any method (the page is read-only; its JS writes through the API).
PLANNER_PAGE: dict[str, Any] = {"*": only("planner", "admin", anonymous="login")}
OPERATOR_PAGE: dict[str, Any] = {"GET": only("operator", "admin", anonymous="login"), "*": {"*": "405", **LOGIN_FIRST}}
DATA_EDITOR_PAGE: dict[str, Any] = {"*": only("gis_staff", "admin", anonymous="login")}

HTTP: dict[str, dict[str, Any]] = {
    # --- public pages ---
    "": PUBLIC_READ,  # the front page (apps/portal)
    "published/<pk>/": PUBLIC_READ,
    "map/": PUBLIC_READ,
    "accounts/login/": {
        "GET": EVERYONE,
        "POST": EVERYONE,
        "PUT": EVERYONE,
        "*": NOBODY_405,
    },  # PUT is POST to LoginView
    "accounts/logout/": {"POST": "redirect", "*": NOBODY_405},
    "healthz/": PUBLIC_READ,
    # --- staff pages ---
    "live/": OPERATOR_PAGE,
    "live/quarantine/": OPERATOR_PAGE,
    "scenarios/": PLANNER_PAGE,
    "scenarios/new/": PLANNER_PAGE,
    "scenarios/<pk>/": PLANNER_PAGE,
    "runs/<pk>/": PLANNER_PAGE,
    "imports/upload/": DATA_EDITOR_PAGE,
    "imports/<pk>/": DATA_EDITOR_PAGE,
    # A job's page: its owner and admins; the object is someone else's here, so 404 (no probing).
    "jobs/<pk>/": {"*": {"*": "404", "anonymous": "login", "admin": "ok"}},
    # --- the public API (apps/portal, and the privacy module's) ---
    "api/public/sensors/": PUBLIC_READ,
    "api/public/comparisons/": PUBLIC_READ,
    "api/public/comparisons/<pk>/difference/": PUBLIC_READ,
    "api/public/conditions/<dataset>/": PUBLIC_READ,
    "api/public/aggregates/": PUBLIC_READ,
    "api/public/partitions/<partition>/": PUBLIC_READ,
    # --- SensorThings (apps/sensorthings): read-only; energy meters only for the staff roles ---
    # Everyone reads (the relations hide what a role may not see, as 404: tests/test_sensorthings*.py); no write.
    "sta/v1.1/": PUBLIC_READ,
    "sta/v1.1/<resource>": PUBLIC_READ,
    # --- OGC API - Features and Tiles (apps/ogc): read-only for everyone; what each role sees is filtered ---
    **{
        f"ogc/{path}": PUBLIC_READ
        for path in (
            "",
            "api",
            "conformance",
            "collections",
            "collections/<collection_id>",
            "collections/<collection_id>/queryables",
            "collections/<collection_id>/items",
            "collections/<collection_id>/tiles",
            "collections/<collection_id>/tiles/<tms>",
            "collections/<collection_id>/tiles/<tms>/tilejson.json",
            "collections/<collection_id>/tiles/<tms>/<z>/<row>/<col>",
            "tileMatrixSets",
            "tileMatrixSets/<tms>",
        )
    },  # fmt: skip
    # The item here is a substation (critical infrastructure): not found for the public and machine accounts.
    "ogc/collections/<collection_id>/items/<feature_id>": {
        "GET": {"*": "ok", "anonymous": "404", "ingest": "404", "device": "404"},
        "*": NOBODY_405,
    },  # fmt: skip
    # --- the API ---
    "api/": LAYER,  # the router root: the default policy (RoleReadOnly), then read-only
    "api/schema/": PUBLIC_READ,
    "api/docs/": PUBLIC_READ,
    "api/ingest/readings/": {
        "POST": only("ingest", "device", "admin"),
        "*": only(ingest="405", device="405", admin="405"),
    },
    "api/buildings/": LAYER,
    "api/buildings/<pk>/": LAYER,
    "api/buildings/cityjson/": LAYER,  # the buildings as a CityJSON download
    "api/road-segments/": LAYER,
    "api/road-segments/<pk>/": LAYER,
    "api/road-nodes/": LAYER,
    "api/road-nodes/<pk>/": LAYER,
    "api/utility-assets/": LAYER,  # the public sees public kinds only (the object here is a street lamp)
    "api/utility-assets/<pk>/": LAYER,
    "api/districts/": LAYER,
    "api/districts/<pk>/": LAYER,
    "api/sensors/": LAYER,  # the public sees traffic and air quality only (the object here: air quality)
    "api/sensors/<code>/": LAYER,
    "api/sensors/<code>/latest/": LAYER,
    "api/sensors/<code>/readings/": LAYER,
    "api/imports/": {"GET": only("gis_staff", "admin"), "*": only(gis_staff="405", admin="405")},
    "api/imports/<pk>/": {"GET": only("gis_staff", "admin"), "*": only(gis_staff="405", admin="405")},
    "api/alerts/": OPERATOR_READ,
    "api/alerts/<pk>/": OPERATOR_READ,
    "api/alerts/<pk>/acknowledge/": OPERATOR_ACTION,
    "api/quarantine/": OPERATOR_READ,
    "api/quarantine/<pk>/": OPERATOR_READ,
    # Jobs: the people who start them (staff); each sees their own (the job here is another planner's: 404).
    "api/jobs/": {
        "GET": only("planner", "operator", "gis_staff", "admin"),
        "*": only(planner="405", operator="405", gis_staff="405", admin="405"),
    },  # fmt: skip
    "api/jobs/<pk>/": {
        "GET": {"*": "404", "anonymous": "403", "admin": "ok", "ingest": "403", "device": "403"},
        "*": {"*": "405", "anonymous": "403", "ingest": "403", "device": "403"},
    },  # fmt: skip
    "api/jobs/<pk>/cancel/": {
        "POST": {"*": "404", "anonymous": "403", "admin": "ok", "ingest": "403", "device": "403"},
        "*": {"*": "405", "anonymous": "403", "ingest": "403", "device": "403"},
    },  # fmt: skip
    "api/scenarios/": {
        "GET": only("planner", "admin"),
        "POST": only("planner", "admin"),
        "*": only(planner="405", admin="405"),
    },  # fmt: skip
    "api/scenarios/<pk>/": {
        "GET": only("planner", "admin"),
        "PUT": only("planner", "admin"),
        "PATCH": only("planner", "admin"),
        "*": only(planner="405", admin="405"),
    },  # fmt: skip
    "api/scenarios/<pk>/duplicate/": PLANNER_ACTION,
    "api/scenarios/<pk>/runs/": {
        "GET": only("planner", "admin"),
        "POST": only("planner", "admin"),
        "*": only(planner="405", admin="405"),
    },  # fmt: skip
    "api/runs/": PLANNER_READ,
    "api/runs/<pk>/": PLANNER_READ,
    "api/runs/<pk>/calibration/": PLANNER_READ,
    "api/runs/<pk>/cancel/": PLANNER_ACTION,
    "api/runs/<pk>/charging-stations/": PLANNER_READ,
    "api/runs/<pk>/difference/": PLANNER_READ,
    "api/runs/<pk>/segments/": PLANNER_READ,
    "api/runs/<pk>/substations/": PLANNER_READ,
    # --- tiles (the layers' own rows: TILE_LAYERS) ---
    "tiles/runs/<run>/<z>/<x>/<y>.pbf": {
        "GET": {"*": "403", "anonymous": "401", "planner": "ok", "admin": "ok"},
        "*": NOBODY_405,
    },  # fmt: skip
    "tiles/<layer>/<z>/<x>/<y>.pbf": {"*": NOBODY_405},  # stands for TILE_LAYERS, one row per layer
    # --- the Django admin: gis_staff edit the city's data, admins everything; the rest to the admin login ---
    "admin/": {"*": only("gis_staff", "admin", anonymous="admin-login", others="admin-login")},
    "admin/login/": {"GET": {"*": "ok", "gis_staff": "redirect", "admin": "redirect"}, "POST": EVERYONE},
    "admin/logout/": {"GET": {"*": "redirect", "gis_staff": "405", "admin": "405"}, "POST": "redirect"},
    "admin/password_change/": {"*": only("gis_staff", "admin", anonymous="admin-login", others="admin-login")},
    "admin/password_change/done/": {
        "GET": only("gis_staff", "admin", anonymous="admin-login", others="admin-login"),
        "POST": only(anonymous="admin-login", others="admin-login", gis_staff="405", admin="405"),
    },  # fmt: skip
    "admin/jsi18n/": {
        "GET": only("gis_staff", "admin", anonymous="admin-login", others="admin-login"),
        "POST": only(anonymous="admin-login", others="admin-login", gis_staff="405", admin="405"),
    },
    # autocomplete without its parameters: refused even for staff
    "admin/autocomplete/": {
        "GET": only(anonymous="admin-login", others="admin-login", gis_staff="403", admin="403"),
        "POST": only(anonymous="admin-login", others="admin-login", gis_staff="405", admin="405"),
    },  # fmt: skip
    "admin/r/<content_type_id>/<object_id>/": {
        "*": only(anonymous="admin-login", others="admin-login", gis_staff="404", admin="404")
    },  # fmt: skip
    "admin/<app_label>/": {"*": only("gis_staff", "admin", anonymous="admin-login", others="admin-login")},
    "admin/<url>": {"*": only(anonymous="admin-login", others="admin-login", gis_staff="404", admin="404")},
    # An object's bare URL redirects to its change page, for the staff.
    "admin/*/<object_id>/": {
        "*": only(anonymous="admin-login", others="admin-login", gis_staff="redirect", admin="redirect")
    },  # fmt: skip
    # No add page for rows the system writes (alerts, quarantine, imports).
    "admin/telemetry/alert/add/": {
        "*": only(anonymous="admin-login", others="admin-login", gis_staff="403", admin="403")
    },
    "admin/telemetry/quarantinedreading/add/": {
        "*": only(anonymous="admin-login", others="admin-login", gis_staff="403", admin="403")
    },  # fmt: skip
    "admin/imports/importrun/add/": {
        "*": only(anonymous="admin-login", others="admin-login", gis_staff="403", admin="403")
    },  # fmt: skip
    # Quarantined readings and import runs are read-only in the admin: a POST to the change form redirects.
    "admin/telemetry/quarantinedreading/<object_id>/change/": {
        "GET": only("admin", anonymous="admin-login", others="admin-login", gis_staff="403"),
        "POST": only(anonymous="admin-login", others="admin-login", gis_staff="403", admin="redirect"),
    },
    "admin/imports/importrun/<object_id>/change/": {
        "GET": only("gis_staff", "admin", anonymous="admin-login", others="admin-login"),
        "POST": only(anonymous="admin-login", others="admin-login", gis_staff="403", admin="redirect"),
    },
    "admin/imports/importrun/<object_id>/delete/": {
        "*": only("admin", anonymous="admin-login", others="admin-login", gis_staff="403")
    },  # fmt: skip
    # Tokens: the test database has none, so the object pages redirect (no such token) for whoever may look.
    "admin/authtoken/tokenproxy/<object_id>/history/": {
        "*": only(anonymous="admin-login", others="admin-login", gis_staff="redirect", admin="redirect")
    },  # fmt: skip
    "admin/authtoken/tokenproxy/<object_id>/*": {
        "*": only(anonymous="admin-login", others="admin-login", gis_staff="403", admin="redirect")
    },  # fmt: skip
    # The city's data: gis_staff (the "data editors" group) and admins.
    **{
        f"admin/{model}/*": {"*": only("gis_staff", "admin", anonymous="admin-login", others="admin-login")}
        for model in (
            "buildings/building",
            "roads/roadsegment",
            "roads/roadnode",
            "assets/utilityasset",
            "districts/district",
            "sensors/sensor",
            "imports/importrun",
        )
    },  # fmt: skip
    # Accounts, tokens, groups, alert rules, alerts, quarantine: admins only.
    **{
        f"admin/{model}/*": {"*": only("admin", anonymous="admin-login", others="admin-login", gis_staff="403")}
        for model in (
            "auth/group",
            "accounts/user",
            "authtoken/tokenproxy",
            "telemetry/alertrule",
            "telemetry/alert",
            "telemetry/quarantinedreading",
        )
    },  # fmt: skip
}


# Requests that end the session: the test signs the role in again after them.
SIGNS_OUT = {"accounts/logout/", "admin/logout/"}

# Tile layers (apps/tiles/layers.py): every layer is public; assets shows the public kinds to the public.
TILE_LAYERS: dict[str, dict[str, Any]] = {
    "buildings": PUBLIC_READ,
    "roads": PUBLIC_READ,
    "assets": PUBLIC_READ,
    "districts": PUBLIC_READ,
}

# Open-data downloads (apps/portal/downloads.py): everyone.
DOWNLOADS: dict[str, Any] = {
    "/api/buildings/?format=geojson&limit=10000": EVERYONE,
    "/api/buildings/cityjson/": EVERYONE,
    "/api/road-segments/?format=geojson&limit=10000": EVERYONE,
    "/api/road-nodes/?format=geojson&limit=10000": EVERYONE,
    "/api/utility-assets/?format=geojson&limit=10000": EVERYONE,
    "/api/districts/?format=geojson": EVERYONE,
    "/api/sensors/?format=geojson": EVERYONE,
    "/api/public/sensors/": EVERYONE,
    "/api/public/aggregates/?dataset=traffic&partition=district&format=csv": EVERYONE,
    "/api/schema/": EVERYONE,
}

# Websocket topics (apps/*/topics.py), through the real server: subscribed, forbidden (an error, the socket
# stays), closed (4401: the socket is refused to the public and machine accounts before any subscription).
TOPICS: dict[str, Any] = {
    "readings": {"*": "subscribed", "anonymous": "closed", "ingest": "closed", "device": "closed"},
    "alerts": {
        "*": "forbidden",
        "operator": "subscribed",
        "admin": "subscribed",
        "anonymous": "closed",
        "ingest": "closed",
        "device": "closed",
    },  # fmt: skip
    "jobs": {"*": "subscribed", "anonymous": "closed", "ingest": "closed", "device": "closed"},
}

# Dash boards (the dash branch mounts /dash/ in city/asgi.py), through the real server: ok, login, 403.
BOARDS: dict[str, Any] = {
    "/dash/compare/": {"*": "403", "anonymous": "login", "planner": "ok", "admin": "ok"},
    "/dash/districts/": {"*": "403", "anonymous": "login", "operator": "ok", "planner": "ok", "admin": "ok"},
    "/dash/public/": EVERYONE,
}
