"""The OGC API's own definition (/ogc/api) tells the truth: schemathesis, every check and phase, against the
real server as the public and as an operator (who sees more rows, not other parameters)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db
SEED = 20261203


@pytest.fixture(scope="module")
def operator_token(django_db_setup, django_db_blocker) -> Iterator[str]:  # noqa: ANN001
    from rest_framework.authtoken.models import Token

    from apps.accounts.models import Role, User
    from apps.accounts.services import create_user

    with django_db_blocker.unblock():
        user = create_user(username="ogc-openapi-operator", password="pw-for-tests-only", role=Role.OPERATOR)
        token = Token.objects.create(user=user).key
    yield token
    with django_db_blocker.unblock():
        User.objects.filter(pk=user.pk).delete()


def _config(token: str | None) -> str:
    lines = ["[generation]", "max-examples = 8", 'database = "none"']
    if token:
        lines += ["[auth.openapi.tokenAuth]", f'api_key = "Token {token}"']
    # A bbox, a datetime or an id may be well-formed by the schema yet say nothing sensible (a box with its
    # corners swapped, an interval that ends before it starts, an id no feature has): 400/404 naming why.
    lines += [
        "[[operations]]",
        'include-path-regex = "/collections/"',
        'checks.positive_data_acceptance.expected-statuses = ["2XX", "304", "400", "404"]',
        # A limit above the maximum is capped, not refused (OGC API Features Part 1 lets a server do so, and
        # clients that page with a large limit still get their features).
        "[[operations]]",
        'include-path = "/collections/{collectionId}/items"',
        'checks.negative_data_rejection.expected-statuses = ["200", "400", "404", "406"]',
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("who", ["anonymous", "operator"])
def test_schemathesis_finds_no_failure_in_the_ogc_api(
    server_url: str, operator_token: str, who: str, tmp_path: Path
) -> None:
    config, report_path = tmp_path / "schemathesis.toml", tmp_path / "report.json"
    config.write_text(_config(operator_token if who == "operator" else None))
    schemathesis = str(Path(sys.executable).with_name("schemathesis"))
    command = [
        *(schemathesis, "--config-file", str(config), "run", f"{server_url}/ogc/api"),
        *("--checks", "all", "--seed", str(SEED), "--workers", "1", "--phases", "examples,coverage,fuzzing"),
        *("--report", "json", "--report-json-path", str(report_path)),
    ]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
    (ROOT / "var" / f"test-ogc-openapi-{who}.txt").write_text(run.stdout + run.stderr)
    report: dict[str, Any] = json.loads(report_path.read_text())
    failures = [f"{f['code']} {f['title']}: {', '.join(f['operations'])}" for f in report.get("failures", [])]
    assert report["operations"]["tested"] == report["operations"]["total"] >= 13
    assert not failures and not report["errors"], "\n".join(failures + [json.dumps(e)[:300] for e in report["errors"]])
    assert report["test_cases"]["generated"] > 100
    assert run.returncode == 0, run.stdout[-3000:]
