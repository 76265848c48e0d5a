"""The OpenAPI document (/api/schema/) tells the truth about the API.

1. schemathesis, its CLI with every check (`--checks all`) and every phase (examples, coverage, fuzzing,
   stateful), against the real ASGI server (conftest's `server_url`: uvicorn, as `make run` serves, with the
   test settings' high throttle rates) on the test database, once per role: anonymous, planner, operator,
   gis_staff, admin, ingest, device. 0 failures, 0 errors.
2. The shapes the issue named, pinned directly: GeoJSON pages, plain pages, the alerts list, the error
   answers of every operation.

Writes stay off the shared demo city: acknowledge is pinned to an alert of this module's own sensor, cancel
to a job of this module's own, and ingested readings name only that sensor (or names no sensor has:
quarantined); everything the run wrote is deleted afterwards. The command and its settings are in `_command` and `_config`; the cost is
about 20-40 s per role with MAX_EXAMPLES examples per operation and phase (docs/api.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.gis.geos import Point

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "planner", "operator", "gis_staff", "admin", "ingest", "device")
MAX_EXAMPLES = 10
SEED = 20261202
SENSOR = "openapi-aq-1"  # this module's sensor; the device account of the run has its code as username
# schemathesis's defaults for negative_data_rejection, plus 200 for HTTP ingest only: a batch is answered 200
# with each item that is not a valid reading rejected alone (listed in `rejected`, quarantined), by design
# (docs/api.md), so a schema-violating item does not make the request a 4xx.
NEGATIVE_OK = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[dict[str, Any]]:  # noqa: ANN001
    """Committed (the server is another process): a sensor, an alert on it, a quarantined reading and one
    account with a token per role. Deleted afterwards, with whatever the run wrote."""
    from rest_framework.authtoken.models import Token

    from apps.accounts.models import Role, User
    from apps.accounts.services import create_user
    from apps.jobs.models import Job
    from apps.sensors.models import Sensor
    from apps.telemetry.models import Alert, QuarantinedReading, Reading

    started = datetime.now(UTC)
    with django_db_blocker.unblock():
        sensor = Sensor.objects.create(
            code=SENSOR, kind="air_quality", geom=Point(24.945, 60.169, srid=4326), source="test", source_id=SENSOR
        )
        alert = Alert.objects.create(
            kind="threshold",
            sensor=sensor,
            property="pm2_5",
            value=80.0,
            message="PM2.5 above 50",
            started_at=started,
            last_seen_at=started,
        )
        quarantined = QuarantinedReading.objects.create(
            received_at=started, source="http", sensor_code="nobody", reason="unknown_sensor", detail="t", payload="{}"
        )
        tokens, users = {}, {}
        for role in ROLES[1:]:
            name = SENSOR if role == Role.DEVICE else f"openapi-{role}"
            users[role] = create_user(username=name, password="pw-for-tests-only", role=Role(role))
            tokens[role] = Token.objects.create(user=users[role]).key
        # Queued, never enqueued: cancelling it only changes its row.
        job = Job.objects.create(kind="import", owner=users["admin"], params={"source": "openapi test"})
    yield {
        "tokens": tokens,
        "alert": alert.pk,
        "job": job.pk,
        "quarantined": quarantined.pk,
        "sensor": SENSOR,
        "sensor_id": sensor.pk,
    }
    with django_db_blocker.unblock():
        Job.objects.filter(pk=job.pk).delete()
        Reading.objects.filter(sensor_id=sensor.pk).delete()
        sensor.delete()  # its alerts (and their events), latest values and rollups go with it
        QuarantinedReading.objects.filter(received_at__gte=started).delete()
        User.objects.filter(username__in=[SENSOR, *(f"openapi-{r}" for r in ROLES)]).delete()


def _toml(value: Any) -> str:
    return json.dumps(value)  # JSON strings, numbers and arrays are valid TOML


def _config(role: str, world: dict[str, Any]) -> str:
    lines = [
        "[generation]",
        f"max-examples = {MAX_EXAMPLES}",
        'database = "none"',  # no examples carried over from an earlier run: the same seed, the same cases
    ]
    if role != "anonymous":
        lines += ["[auth.openapi.tokenAuth]", f"api_key = {_toml('Token ' + world['tokens'][role])}"]
    lines += [
        # The writes that change existing rows: pinned to this module's alert and job.
        "[[operations]]",
        'include-path = "/api/alerts/{id}/acknowledge/"',
        f'parameters = {{ "path.id" = {world["alert"]} }}',
        "[[operations]]",
        'include-path = "/api/jobs/{id}/cancel/"',
        f'parameters = {{ "path.id" = {world["job"]} }}',
        "[[operations]]",
        'include-path = "/api/ingest/readings/"',
        f"checks.negative_data_rejection.expected-statuses = {_toml([*NEGATIVE_OK, '200'])}",
        # A scenario document's rules depend on the stored city (its segments and districts exist, the
        # closures leave every district a way out, counts exist for the date, the time zone is a real one),
        # and a run's results take only its own interval starts and another visible run: a request that is
        # valid by the schema alone may still be refused, with a 400 naming the field.
        "[[operations]]",
        'include-path-regex = "^/api/(scenarios|runs)/"',
        f"checks.positive_data_acceptance.expected-statuses = {_toml(['2XX', '400', '401', '403', '404', '409', '429'])}",
        # The public aggregates: a measure belongs to one dataset, a window is at most 31 days (400 naming
        # the parameter), and a differentially private release past the dataset's budget is refused (403).
        "[[operations]]",
        'include-path-regex = "^/api/public/"',
        f"checks.positive_data_acceptance.expected-statuses = {_toml(['2XX', '400', '403', '404', '429'])}",
    ]
    return "\n".join(lines) + "\n"


def _command(server: str, config: Path, report: Path) -> list[str]:
    schemathesis = str(Path(sys.executable).with_name("schemathesis"))
    return [
        *(schemathesis, "--config-file", str(config), "run", f"{server}/api/schema/?format=json"),
        *("--checks", "all", "--seed", str(SEED), "--workers", "1"),
        *("--report", "json", "--report-json-path", str(report)),
    ]


def _shared_rows(world: dict[str, Any]) -> dict[str, Any]:
    """What the run must leave alone: other sensors' readings, other alerts' trail, other people's jobs."""
    from apps.jobs.models import Job
    from apps.telemetry.models import AlertEvent, Reading

    return {
        "readings": Reading.objects.exclude(sensor_id=world["sensor_id"]).count(),
        "alert events": AlertEvent.objects.exclude(alert_id=world["alert"]).count(),
        # Jobs of others; the run's own people may start jobs of their own (scenario runs they queued).
        "jobs": sorted(
            Job.objects.exclude(pk=world["job"])
            .exclude(owner__auth_token__key__in=list(world["tokens"].values()))
            .values_list("pk", "state", "cancel_requested")
        ),
    }


def _summary(report: dict[str, Any]) -> str:
    failures = [f"{f['code']} {f['title']}: {', '.join(f['operations'])}" for f in report.get("failures", [])]
    errors = [json.dumps(e)[:300] for e in report.get("errors", [])]
    return "\n".join([*failures, *errors])


@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_finds_no_failure(server_url: str, world: dict[str, Any], role: str, tmp_path: Path) -> None:
    config, report_path = tmp_path / "schemathesis.toml", tmp_path / "report.json"
    config.write_text(_config(role, world))
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.openapi_hooks", "PYTHONPATH": str(ROOT)}
    env["CITYTWIN_OPENAPI_SENSOR"] = world["sensor"]  # the hooks point ingested readings at it
    before = _shared_rows(world)
    run = subprocess.run(  # noqa: S603 - our own command line
        _command(server_url, config, report_path),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (ROOT / "var" / f"test-openapi-{role}.txt").write_text(run.stdout + run.stderr)
    report = json.loads(report_path.read_text())
    cases = report["test_cases"]
    print(
        f"schemathesis as {role}: {cases['generated']} cases, {len(report['failures'])} failures, "
        f"{len(report['errors'])} errors, {report['running_time']:.0f} s"
    )
    assert report["operations"]["tested"] == report["operations"]["total"] >= 22
    assert not report["failures"] and not report["errors"], _summary(report)
    assert _shared_rows(world) == before
    assert cases["generated"] > 300 and cases["errored"] == 0
    assert all(phase["status"] in ("success", "skipped") for phase in report["phases"].values()), report["phases"]
    assert run.returncode == 0, run.stdout[-3000:]


# --- The shapes, pinned in-process ----------------------------------------------------------------------


@pytest.fixture
def schema(api) -> dict[str, Any]:  # noqa: ANN001
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable` in JSON Schema terms, and its component refs made local."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if "$ref" in node:
        node["$ref"] = node["$ref"].replace("#/components/schemas/", "#/$defs/")
    if node.pop("nullable", False):
        node = (
            {"type": [node["type"], "null"], **{k: v for k, v in node.items() if k != "type"}}
            if "type" in node
            else {"anyOf": [node, {"type": "null"}]}
        )
    return node


def _validate(schema: dict[str, Any], documented: dict[str, Any], instance: Any) -> None:
    import jsonschema

    definitions = _json_schema(schema["components"]["schemas"])
    jsonschema.validate(instance, {**_json_schema(documented), "$defs": definitions})


def _answer_schema(schema: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    return schema["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def test_geojson_pages_document_features_as_an_array_and_validate(api, schema) -> None:  # noqa: ANN001
    page = _resolve(schema, _answer_schema(schema, "/api/buildings/", "get", "200"))
    collection, counts = page["allOf"]
    features = _resolve(schema, collection)["properties"]["features"]
    assert features["type"] == "array" and _resolve(schema, features["items"])["properties"]["geometry"]
    assert {"count", "next", "previous", "features"} <= set(counts["required"])
    answer = json.loads(api.get("/api/buildings/?limit=3").content)
    _validate(schema, _answer_schema(schema, "/api/buildings/", "get", "200"), answer)


@pytest.mark.parametrize("path", ["/api/imports/", "/api/quarantine/", "/api/alerts/"])
def test_other_lists_document_count_and_results_and_validate(api_as, admin_user, world, schema, path: str) -> None:  # noqa: ANN001
    page = _resolve(schema, _answer_schema(schema, path, "get", "200"))
    assert page["properties"]["results"]["type"] == "array" and "features" not in page["properties"]
    item = _resolve(schema, page["properties"]["results"]["items"])
    assert item["properties"], f"{path}: items documented without a body"
    answer = api_as(admin_user).get(path + "?limit=5").json()
    assert answer["results"], path  # world made one of each
    _validate(schema, _answer_schema(schema, path, "get", "200"), answer)


def test_sensor_actions_document_their_answers(api, api_as, admin_user, world, schema) -> None:  # noqa: ANN001
    now = datetime.now(UTC)
    reading = {"sensor": SENSOR, "time": now.isoformat(), "values": {"pm2_5": 12.5, "no2": 20.0}}
    stored = api_as(admin_user).post("/api/ingest/readings/", [reading], format="json").json()
    assert stored["stored"] == 1, stored
    window = f"?resolution=raw&start={(now - timedelta(minutes=5)).isoformat()}&end={(now + timedelta(minutes=1)).isoformat()}"
    for action, query in (("latest", ""), ("readings", window.replace("+", "%2B"))):
        path = f"/api/sensors/{{code}}/{action}/"
        assert _resolve(schema, _answer_schema(schema, path, "get", "200"))["properties"]
        _validate(
            schema,
            _answer_schema(schema, path, "get", "200"),
            api.get(f"/api/sensors/{SENSOR}/{action}/{query}").json(),
        )


def test_every_operation_documents_its_error_answers_with_the_one_error_shape(schema) -> None:  # noqa: ANN001
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "detail"} and set(error["properties"]) == {"code", "detail", "errors"}
    operations = [(p, m, op) for p, ops in schema["paths"].items() for m, op in ops.items()]
    assert len(operations) >= 22
    for path, method, operation in operations:
        responses = operation["responses"]
        expected = {"401", "403", "406", "413", "429"}
        if "{" in path:
            expected.add("404")
        if "requestBody" in operation or any(
            p["in"] == "query" and p["name"] != "format" for p in operation.get("parameters", [])
        ):
            expected.add("400")
        assert expected <= set(responses), f"{method.upper()} {path}: {sorted(responses)}"
        for status in expected:
            assert responses[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        assert "Retry-After" in responses["429"]["headers"]


def test_public_reads_say_that_authentication_is_optional(schema) -> None:  # noqa: ANN001
    assert {} in schema["paths"]["/api/buildings/"]["get"]["security"]
    assert {} in schema["paths"]["/api/sensors/{code}/readings/"]["get"]["security"]
    for path, method in (
        ("/api/alerts/", "get"),
        ("/api/alerts/{id}/acknowledge/", "post"),
        ("/api/ingest/readings/", "post"),
        ("/api/imports/", "get"),
    ):
        assert {} not in schema["paths"][path][method]["security"], path


# --- Every error answer: one shape, stable codes ---------------------------------------------------------


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code and isinstance(body["detail"], str) and body["detail"], body
    assert set(body) <= {"code", "detail", "errors"}
    return body


def test_drf_errors_answer_in_the_documented_shape(api, api_as, planner, operator, world) -> None:  # noqa: ANN001
    alert = f"/api/alerts/{world['alert']}/"
    _error(api.get("/api/alerts/"), 403, "not_authenticated")
    _error(api_as(planner).get("/api/alerts/"), 403, "permission_denied")
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    _error(api.get("/api/buildings/"), 403, "authentication_failed")
    api.credentials()
    _error(api.get("/api/buildings/2147483647/"), 404, "not_found")
    _error(api.get("/api/buildings/1.5/"), 404, "not_found")  # matches no route: Django's 404, our shape
    _error(api.get("/api/buildings/?format=xml"), 404, "not_found")
    _error(api.get("/api/buildings/?format="), 404, "not_found")
    _error(api.get("/api/buildings/1/", HTTP_ACCEPT="text/csv"), 406, "not_acceptable")
    client = api_as(operator)
    deleted = _error(client.delete(alert), 405, "method_not_allowed")
    assert deleted and "GET" in client.delete(alert)["Allow"]
    _error(client.post(alert + "acknowledge/", "{", content_type="application/json"), 400, "parse_error")
    _error(client.post(alert + "acknowledge/", "note", content_type="text/plain"), 415, "unsupported_media_type")
    invalid = _error(client.post(alert + "acknowledge/", {"note": 0}, format="json"), 400, "invalid")
    assert "note" in invalid["errors"] and "note" in invalid["detail"]


def test_throttled_answers_429_with_retry_after_in_the_documented_shape(settings, api, schema) -> None:  # noqa: ANN001
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "2/min", "user": "2/min"}}
    try:
        answers = [api.get("/api/districts/?limit=1") for _ in range(3)]
    finally:
        cache.clear()
    body = _error(answers[-1], 429, "throttled")
    assert int(answers[-1]["Retry-After"]) > 0 and "seconds" in body["detail"]
    _validate(schema, {"$ref": "#/components/schemas/Error"}, body)


def test_error_bodies_validate_against_the_error_component(api, schema) -> None:  # noqa: ANN001
    for url in ("/api/alerts/", "/api/buildings/?bbox=1,2", "/api/buildings/2147483647/", "/api/nope/"):
        response = api.get(url)
        assert response.status_code >= 400
        _validate(schema, {"$ref": "#/components/schemas/Error"}, response.json())
