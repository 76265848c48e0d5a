"""The boards' data functions on the test database: district rollups per role (the districts board) and
the comparison's refusal of runs the user may not compare."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser

from apps.districts.models import District
from apps.sensors.models import Sensor
from apps.telemetry.district_rollups import rebuild as rebuild_district_rollups
from apps.telemetry.models import Rollup
from dashboards.compare import data as compare_data
from dashboards.districts import data as district_data

pytestmark = pytest.mark.django_db
HOUR = datetime(2026, 11, 23, 8, tzinfo=UTC)


def _sensor(code: str, kind: str, district: District) -> Sensor:
    return Sensor.objects.create(
        code=code, kind=kind, geom=district.geom.point_on_surface, source="test", source_id=code
    )


def _rollup(sensor: Sensor, prop: str, n: int, total: float, hour: int = 0) -> None:
    Rollup.objects.create(sensor=sensor, resolution="1h", property=prop, bucket=HOUR + timedelta(hours=hour), n=n,
                          total=total, minimum=0, maximum=total)  # fmt: skip


def test_district_rollups_sum_counts_average_means_and_follow_the_role(operator) -> None:  # noqa: ANN001
    district = District.objects.order_by("id").first()
    assert district is not None, "the demo city has districts"
    t1, t2 = _sensor("dd-t1", "traffic", district), _sensor("dd-t2", "traffic", district)
    aq, meter = _sensor("dd-aq", "air_quality", district), _sensor("dd-e1", "energy", district)
    _rollup(t1, "vehicle_count", 60, 300)
    _rollup(t2, "vehicle_count", 60, 200)
    _rollup(aq, "pm2_5", 4, 40)  # mean 10 over 4 readings
    _rollup(meter, "energy_kwh", 4, 7.5)
    _rollup(t1, "vehicle_count", 60, 999, hour=5)  # outside the window asked for
    rebuild_district_rollups()  # rollups written here directly, not by the fold: bring the district rows up to date
    start, end = HOUR, HOUR + timedelta(hours=2)

    frame = district_data.district_frame(operator, start, end)
    mine = frame[frame["cell"] == str(district.pk)].set_index("measure")
    assert mine.loc["traffic", "value"] == 500 and mine.loc["traffic", "sensors"] == 2
    assert mine.loc["pm2_5", "value"] == 10
    assert mine.loc["energy", "value"] == 7.5  # staff see the meters
    assert not frame["suppressed"].any() and set(frame["bucket"]) == {HOUR}

    public = district_data.district_frame(AnonymousUser(), start, end)
    assert "energy" not in set(public["measure"])  # the public never reads meters through this selector


def test_hours_of_the_window_are_whole_and_end_with_the_current_hour() -> None:
    start, end = district_data.window(datetime(2026, 11, 23, 10, 42, tzinfo=UTC), days=1)
    assert (start, end) == (datetime(2026, 11, 22, 11, tzinfo=UTC), datetime(2026, 11, 23, 11, tzinfo=UTC))
    assert len(district_data.hours_of(start, end)) == 24


def test_a_comparison_needs_two_finished_runs_the_user_may_see(planner, operator) -> None:  # noqa: ANN001
    from apps.simulation.services import create_scenario, start_run

    scenario = create_scenario(document={"name": "Unfinished", "begin": 25200, "end": 26000, "seeds": [1],
                                         "demand": {"source": "random", "period": 2, "seed": 1}}, owner=planner)  # fmt: skip
    run = start_run(scenario=scenario, owner=planner, enqueue=False)  # queued, never run
    assert compare_data.comparison(planner, run.pk, run.pk, interval=None) is None
    assert compare_data.run_options(planner) == [] or run.pk not in {
        o["value"] for o in compare_data.run_options(planner)
    }
    assert compare_data.run_options(operator) == []
    assert compare_data.publish(operator, run.pk, run.pk, title="x") == "Pick two runs first."
