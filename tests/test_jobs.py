"""The one job mechanism (apps/jobs): claim under a lease, progress visible while the work's transaction
is open, outcomes recorded in words a person can act on, cancel, the per-user cap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections, transaction
from django.utils import timezone

from apps.core.exceptions import DomainError
from apps.jobs import services
from apps.jobs.models import Job, JobState
from tests.conftest import in_thread

pytestmark = pytest.mark.django_db(databases=["default", "jobs"])


@pytest.fixture(autouse=True)
def _close_job_connection() -> Iterator[None]:
    yield
    connections["jobs"].close()  # or the test database cannot be dropped at the end


@pytest.fixture
def committed() -> Iterator[list[Job]]:
    """Jobs listed here are deleted afterwards (they were committed by in_thread)."""
    made: list[Job] = []
    yield made
    in_thread(lambda: Job.objects.filter(pk__in=[j.pk for j in made]).delete())


def _job(made: list[Job], **fields: Any) -> Job:
    job = Job.objects.create(kind="test", **fields)
    made.append(job)
    return job


def _other_connection_sees(job_id: int) -> tuple[str, float, str]:
    """Read the row through a fresh connection, as the web process would."""
    with connections["jobs"].cursor() as cursor:
        cursor.execute("SELECT state, progress, status_text FROM jobs_job WHERE id = %s", [job_id])
        return cursor.fetchone()


def test_progress_is_visible_while_the_work_holds_its_transaction(committed) -> None:  # noqa: ANN001
    def scenario() -> None:
        job = _job(committed)
        seen: list[tuple[str, float, str]] = []

        def work(job: Job, progress: services.Progress) -> dict[str, Any]:
            with transaction.atomic():  # an import keeps one transaction open for the whole file
                progress(40, "loading buildings", force=True)
                seen.append(_other_connection_sees(job.pk))
            return {"rows": 3}

        assert connections["jobs"] is not connections["default"]
        assert services.execute(job.pk, work) == JobState.SUCCEEDED
        assert seen == [("running", 40.0, "loading buildings")]
        job.refresh_from_db()
        assert (job.state, job.progress, job.result, job.attempts) == ("succeeded", 100.0, {"rows": 3}, 1)
        assert job.started_at and job.finished_at and job.lease_until is None

    in_thread(scenario)


def test_a_domain_error_is_the_message_and_anything_else_hides_the_traceback(committed) -> None:  # noqa: ANN001
    def scenario() -> None:
        def refuse(job: Job, progress: services.Progress) -> None:
            raise DomainError("roads.geojson: row 7, field lanes: not a number")

        def crash(job: Job, progress: services.Progress) -> None:
            raise KeyError("secret internals")

        first, second = _job(committed), _job(committed)
        assert services.execute(first.pk, refuse) == JobState.FAILED
        assert services.execute(second.pk, crash) == JobState.FAILED
        first.refresh_from_db()
        second.refresh_from_db()
        assert first.error == "roads.geojson: row 7, field lanes: not a number"
        assert second.error == "internal error (KeyError); the details are in the worker's log"
        assert "secret" not in second.error

    in_thread(scenario)


def test_a_job_runs_once_even_when_delivered_twice(committed) -> None:  # noqa: ANN001
    def scenario() -> None:
        job = _job(committed)
        runs: list[str | None] = []

        def work(job: Job, progress: services.Progress) -> None:
            # The same job delivered again while this one runs (a broker redelivery): not claimed.
            runs.append(services.execute(job.pk, lambda j, p: None))

        assert services.execute(job.pk, work) == JobState.SUCCEEDED
        assert runs == [None]
        assert services.execute(job.pk, work) is None  # and not again once finished
        job.refresh_from_db()
        assert job.attempts == 1

    in_thread(scenario)


def test_a_job_whose_worker_died_is_taken_over_after_its_lease(committed) -> None:  # noqa: ANN001
    def scenario() -> None:
        job = _job(
            committed,
            state=JobState.RUNNING,
            worker="dead-host:1:x",
            attempts=1,
            lease_until=timezone.now() - timedelta(seconds=1),
        )
        assert services.execute(job.pk, lambda j, p: {"ok": True}) == JobState.SUCCEEDED
        job.refresh_from_db()
        assert job.attempts == 2 and job.worker != "dead-host:1:x"

    in_thread(scenario)


def test_cancel_a_queued_job_at_once_and_a_running_one_at_its_next_report(committed) -> None:  # noqa: ANN001
    def scenario() -> None:
        queued = _job(committed)
        services.request_cancel(job_id=queued.pk)
        assert services.execute(queued.pk, lambda j, p: None) is None
        queued.refresh_from_db()
        assert queued.state == JobState.CANCELLED

        running = _job(committed)
        reached: list[int] = []

        def work(job: Job, progress: services.Progress) -> None:
            for step in range(10):
                if step == 3:
                    services.request_cancel(job_id=job.pk)
                progress(step * 10, f"step {step}", force=True)
                reached.append(step)

        assert services.execute(running.pk, work) == JobState.CANCELLED
        assert reached == [0, 1, 2]
        with pytest.raises(services.JobNotCancellable):
            services.request_cancel(job_id=running.pk)

    in_thread(scenario)


def test_each_person_has_a_cap_on_active_jobs(committed, settings, django_db_blocker) -> None:  # noqa: ANN001
    def scenario() -> None:
        from apps.accounts.models import Role
        from apps.accounts.services import create_user

        settings.CITYTWIN_JOBS_PER_USER = 2
        user = create_user(username="jobs-cap", password="pw-for-tests-only", role=Role.PLANNER)
        queued: list[int] = []
        try:
            for _ in range(2):
                committed.append(services.create_job(kind="test", owner=user, params={}, enqueue=lambda pk: "t"))
            with pytest.raises(services.JobLimitReached, match="at most 2"):
                services.create_job(kind="test", owner=user, params={}, enqueue=queued.append)
            services.request_cancel(job_id=committed[0].pk)  # a finished job no longer counts
            committed.append(services.create_job(kind="test", owner=user, params={}, enqueue=lambda pk: "t"))
        finally:
            Job.objects.filter(owner=user).delete()
            user.delete()

    in_thread(scenario)


def test_the_api_shows_people_their_own_jobs_and_admins_all(api, api_as, planner, operator, admin_user) -> None:  # noqa: ANN001
    mine = Job.objects.create(kind="import", owner=planner, status_text="loading")
    theirs = Job.objects.create(kind="import", owner=operator)
    listed = api_as(planner).get("/api/jobs/").json()
    assert [j["id"] for j in listed["results"]] == [mine.pk]
    assert api_as(planner).get(f"/api/jobs/{theirs.pk}/").status_code == 404
    assert {j["id"] for j in api_as(admin_user).get("/api/jobs/").json()["results"]} >= {mine.pk, theirs.pk}
    assert api.get("/api/jobs/").status_code in (401, 403)


def test_cancel_over_the_api(api_as, planner, operator) -> None:  # noqa: ANN001
    job = Job.objects.create(kind="import", owner=planner)
    assert api_as(operator).post(f"/api/jobs/{job.pk}/cancel/").status_code == 404  # not theirs
    response = api_as(planner).post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    again = api_as(planner).post(f"/api/jobs/{job.pk}/cancel/")
    assert again.status_code == 409 and again.json()["code"] == "not_cancellable"


def test_the_job_page_is_its_owners(client, planner, operator) -> None:  # noqa: ANN001
    job = Job.objects.create(kind="import", owner=planner, progress=40, status_text="loading buildings (483 rows)")
    job.params = {"display_name": "helsinki.geojson"}
    job.save()
    assert client.get(f"/jobs/{job.pk}/").status_code == 302  # to the login page
    client.force_login(operator)
    assert client.get(f"/jobs/{job.pk}/").status_code == 404
    client.force_login(planner)
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Loading helsinki.geojson" in html and "loading buildings (483 rows)" in html
    assert 'value="40.0"' in html and 'id="job-cancel"' in html and "job-page.js" in html


def test_a_broker_that_cannot_be_reached_fails_the_job_in_words(planner, django_capture_on_commit_callbacks) -> None:  # noqa: ANN001
    def unreachable(job_id: int) -> str:
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    with django_capture_on_commit_callbacks(execute=True):
        job = services.create_job(kind="import", owner=planner, params={}, enqueue=unreachable)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error == "the job queue could not be reached; nothing was done. Try again in a minute."
