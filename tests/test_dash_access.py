"""Who may open which Dash board, through the real ASGI app (uvicorn, tests/conftest.py server_url): the
Django session decides, a wrong role gets the site's styled 403 (for the board's page AND its Dash
endpoints), anonymous visitors on staff boards go to the login page; the boards' CSP carries Dash's
script hashes; Dash's callback POSTs need Django's CSRF token."""

from __future__ import annotations

import re

import pytest

from tests.dash_support import request, role_sessions  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
EXPECTED = {  # board -> role -> status of its page
    "compare": {"anonymous": 302, "planner": 200, "operator": 403, "gis_staff": 403, "admin": 200},
    "districts": {"anonymous": 302, "planner": 200, "operator": 200, "gis_staff": 403, "admin": 200},
    "public": {"anonymous": 200, "planner": 200, "operator": 200, "gis_staff": 200, "admin": 200},
}
CASES = [(board, role, status) for board, roles in EXPECTED.items() for role, status in roles.items()]


@pytest.mark.parametrize(("board", "role", "status"), CASES)
def test_each_role_gets_its_boards_and_the_styled_403_elsewhere(
    server_url: str,
    role_sessions: dict[str, str],  # noqa: F811 - the fixture
    board: str,
    role: str,
    status: int,  # noqa: F811
) -> None:
    session = role_sessions.get(role)
    code, headers, body = request(server_url, "GET", f"/dash/{board}/", session=session)
    assert code == status, body[:500]
    layout, _, layout_body = request(server_url, "GET", f"/dash/{board}/_dash-layout", session=session)
    if status == 200:
        assert 'id="react-entry-point"' in body
        prefix = f"/dash/{board}/".replace("/", "\\u002f")  # Dash escapes slashes in its config
        assert f'"requests_pathname_prefix":"{prefix}"' in body
        policy = headers["content-security-policy"]
        assert re.search(r"script-src 'self'( 'sha256-[A-Za-z0-9+/=]+')+;", policy), policy
        assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";")[0]
        assert "unsafe-eval" not in policy
        assert layout == 200 and layout_body.startswith("{")
    elif status == 302:
        assert headers["location"] == f"/accounts/login/?next=/dash/{board}/"
        assert layout == 302
    else:
        assert 'class="site-header"' in body and "is not for your role" in body  # the site's styled page
        assert "react-entry-point" not in body
        assert layout == 403 and "is not for your role" in layout_body  # nothing of the board leaks


def test_the_boards_assets_need_no_cdn(server_url: str) -> None:
    _, _, page = request(server_url, "GET", "/dash/public/")
    sources = re.findall(r'<script src="([^"]+)"', page) + re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    for source in sources:
        assert request(server_url, "GET", source)[0] == 200, source


def _publish_call(a: int | None) -> dict[str, object]:
    """Dash's own request for the comparison board's Publish button (with no runs picked)."""
    return {
        "output": "publish-result.children",
        "outputs": {"id": "publish-result", "property": "children"},
        "inputs": [{"id": "publish", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["publish.n_clicks"],
        "state": [
            {"id": "run-a", "property": "value", "value": a},
            {"id": "run-b", "property": "value", "value": None},
            {"id": "publish-title", "property": "value", "value": "x"},
        ],
    }


def test_callbacks_need_djangos_csrf_token(server_url: str, role_sessions: dict[str, str]) -> None:  # noqa: F811
    session = role_sessions["planner"]
    url = "/dash/compare/_dash-update-component"
    _, headers, _ = request(server_url, "GET", "/dash/compare/", session=session)
    token = re.search(r"csrftoken=([A-Za-z0-9]+)", headers.get("set-cookie", ""))
    assert token, "the board's page sets Django's CSRF cookie for the callbacks"
    cookie = f"csrftoken={token.group(1)}"
    origin = server_url

    refused, _, body = request(server_url, "POST", url, session=session, body=_publish_call(None),
                               headers={"Cookie": cookie, "Origin": origin})  # fmt: skip
    assert refused == 403 and "CSRF" in body
    forged, _, _ = request(server_url, "POST", url, session=session, body=_publish_call(None),
                           headers={"Cookie": cookie, "Origin": origin, "X-CSRFToken": "x" * 32})  # fmt: skip
    assert forged == 403
    cross, _, _ = request(server_url, "POST", url, session=session, body=_publish_call(None),
                          headers={"Cookie": cookie, "Origin": "http://evil.example", "X-CSRFToken": token.group(1)})  # fmt: skip
    assert cross == 403
    ok, _, answer = request(server_url, "POST", url, session=session, body=_publish_call(None),
                            headers={"Cookie": cookie, "Origin": origin, "X-CSRFToken": token.group(1)})  # fmt: skip
    assert ok == 200 and "Pick two runs first." in answer
    # an operator with a valid token still cannot call the planners' board
    _, op_headers, _ = request(server_url, "GET", "/dash/districts/", session=role_sessions["operator"])
    op_token = re.search(r"csrftoken=([A-Za-z0-9]+)", op_headers.get("set-cookie", ""))
    assert op_token
    denied, _, _ = request(server_url, "POST", url, session=role_sessions["operator"], body=_publish_call(None),
                           headers={"Cookie": f"csrftoken={op_token.group(1)}", "Origin": origin,
                                    "X-CSRFToken": op_token.group(1)})  # fmt: skip
    assert denied == 403


def test_unknown_dash_paths_are_djangos_404(server_url: str) -> None:
    assert request(server_url, "GET", "/dash/nothing/")[0] == 404
    assert request(server_url, "GET", "/dash/")[0] == 404
