"""The API is throttled per client and per account; repeated failed sign-ins lock that sign-in for a while."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

LOW_RATES = {"anon": "5/min", "user": "8/min"}


@pytest.fixture
def low_rates(settings):  # noqa: ANN001
    cache.clear()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": LOW_RATES}
    yield
    cache.clear()


def test_anonymous_api_requests_are_throttled_with_retry_after(low_rates, api) -> None:  # noqa: ANN001
    codes = [api.get("/api/districts/?limit=1").status_code for _ in range(7)]
    assert codes == [200] * 5 + [429] * 2
    response = api.get("/api/districts/?limit=1")
    assert int(response["Retry-After"]) > 0


def test_each_account_has_its_own_budget(low_rates, api_as, planner, operator, api) -> None:  # noqa: ANN001
    as_planner = api_as(planner)
    assert [as_planner.get("/api/districts/?limit=1").status_code for _ in range(9)] == [200] * 8 + [429]
    # Another account, and the anonymous budget, are untouched by the planner's use.
    assert api_as(operator).get("/api/districts/?limit=1").status_code == 200
    assert api.get("/api/districts/?limit=1").status_code == 200


def test_the_window_reopens_after_its_period(low_rates, settings, api) -> None:  # noqa: ANN001
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "2/s", "user": "8/min"}}
    assert [api.get("/api/districts/?limit=1").status_code for _ in range(3)] == [200, 200, 429]
    time.sleep(1.2)  # the window (one second, from the first request) has closed: a new one opens
    assert api.get("/api/districts/?limit=1").status_code == 200


@pytest.fixture
def lockout_cache():  # noqa: ANN201
    cache.clear()
    yield
    cache.clear()


def _login(client: Client, username: str, password: str, ip: str = "10.0.0.1") -> str:
    response = client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, follow=False
    )
    return "ok" if response.status_code == 302 else response.content.decode()


@override_settings(CITYTWIN_LOGIN_MAX_FAILURES=5)
def test_repeated_wrong_passwords_lock_the_sign_in_even_with_the_right_one(lockout_cache, planner) -> None:  # noqa: ANN001
    client = Client()
    for _ in range(5):
        assert "Please enter a correct username and password" in _login(client, planner.username, "wrong")
    page = _login(client, planner.username, "pw-for-tests-only")
    assert "Too many failed sign-in attempts. Try again in 15 minutes." in page
    # The lock is per account and address: the owner elsewhere is not locked out by someone guessing.
    assert _login(Client(), planner.username, "pw-for-tests-only", ip="10.0.0.2") == "ok"


@override_settings(CITYTWIN_LOGIN_MAX_FAILURES=5)
def test_a_successful_sign_in_resets_the_count(lockout_cache, planner) -> None:  # noqa: ANN001
    client = Client()
    for _ in range(4):
        _login(client, planner.username, "wrong")
    assert _login(client, planner.username, "pw-for-tests-only") == "ok"
    for _ in range(4):
        _login(Client(), planner.username, "wrong")
    assert _login(Client(), planner.username, "pw-for-tests-only") == "ok"


@override_settings(CITYTWIN_LOGIN_MAX_FAILURES=50, CITYTWIN_LOGIN_MAX_FAILURES_PER_IP=6)
def test_one_address_trying_many_accounts_is_locked(lockout_cache, planner) -> None:  # noqa: ANN001
    for i in range(6):
        _login(Client(), f"nobody-{i}", "guess")
    assert "Too many failed sign-in attempts" in _login(Client(), planner.username, "pw-for-tests-only")


@override_settings(CITYTWIN_LOGIN_MAX_FAILURES=3)
def test_the_admin_login_is_locked_too(lockout_cache, admin_user) -> None:  # noqa: ANN001
    client = Client()
    for _ in range(3):
        client.post("/admin/login/", {"username": admin_user.username, "password": "x"}, REMOTE_ADDR="10.0.0.9")
    response = client.post(
        "/admin/login/", {"username": admin_user.username, "password": "pw-for-tests-only"}, REMOTE_ADDR="10.0.0.9"
    )
    assert response.status_code == 200 and "Too many failed sign-in attempts" in response.content.decode()
