"""import_counts: loop counts (Bologna's real wide file, small long files built here) into traffic sensors on
their road segments and readings in the telemetry store (docs/data.md, "Traffic counts")."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.gis.geos import LineString
from django.core.management import CommandError, call_command
from django.db import connection

from apps.imports.counts import import_counts, sensor_code
from apps.imports.exceptions import ImportFileError
from apps.imports.models import ImportRun, ImportState
from apps.roads.models import RoadSegment
from apps.sensors.models import Sensor
from apps.telemetry.models import LatestValue, Reading, Rollup

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
BOLOGNA = ROOT.parent / "shared" / "data" / "bologna-joined"
COUNTS = BOLOGNA / "loop_counts_2024.csv"
NETWORK = "bologna-test"
HOURS = [f"{h:02d}:00-{h + 1:02d}:00" for h in range(24)]


def _bologna_rows() -> list[dict[str, str]]:
    with open(COUNTS, encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def _bologna_segments(edges: set[str]) -> None:
    """The network's segments for these SUMO edges, with their real geometry (sumolib reads the net), as
    import_sumo_network stores them: source = the network's name, source_id = the edge id."""
    import sumolib

    net = sumolib.net.readNet(str(BOLOGNA / "joined_buslanes.net.xml"), withInternal=False)
    for edge_id in sorted(edges):
        shape = [net.convertXY2LonLat(x, y) for x, y in net.getEdge(edge_id).getShape()]
        RoadSegment.objects.create(
            source=NETWORK, source_id=edge_id, geom=LineString(shape, srid=4326), highway="primary"
        )


def _segment(source_id: str, *coords: tuple[float, float], source: str = "snap-test") -> RoadSegment:
    return RoadSegment.objects.create(
        source=source, source_id=source_id, geom=LineString(list(coords), srid=4326), highway="primary"
    )


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _readings(code: str) -> dict[datetime, float]:
    rows = Reading.objects.filter(sensor__code=code).values_list("time", "values")
    return {t.astimezone(UTC): v["vehicle_count"] for t, v in rows}


def _issues(result) -> list[tuple[int | None, str | None, str, str, str]]:  # noqa: ANN001
    return [(i.row, i.feature_id, i.field, i.reason, i.action) for i in result.issues]


def test_bologna_wide_file_places_loops_by_edge_id_and_stores_every_hour() -> None:
    rows = _bologna_rows()
    loops_by_edge: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        loops_by_edge[r["edge_id"]].add(r["codice_spira"])
    chosen = set(sorted(loops_by_edge)[:12])  # 12 of the 62 edges the file names
    _bologna_segments(chosen)
    placed = {loop for e in chosen for loop in loops_by_edge[e]}
    placed_rows = [r for r in rows if r["codice_spira"] in placed]

    result = import_counts(path=COUNTS, network=NETWORK, time_zone="Europe/Rome")

    assert result.layout == "wide"
    source = "loop_counts_2024"
    sensors = Sensor.objects.filter(source=source)
    assert set(sensors.values_list("source_id", flat=True)) == placed
    for sensor in sensors.select_related("road_segment"):
        assert sensor.kind == "traffic"
        assert sensor.code == sensor_code(source, sensor.source_id)
        assert sensor.road_segment.source == NETWORK
    by_loop = {r["codice_spira"]: r for r in placed_rows}
    for loop, r in by_loop.items():
        sensor = sensors.get(source_id=loop)
        assert sensor.road_segment.source_id == r["edge_id"]
        lat, lon = (float(v) for v in r["geopoint"].split(","))
        assert (round(sensor.geom.x, 9), round(sensor.geom.y, 9)) == (round(lon, 9), round(lat, 9))
    # Every other row names an edge the network lacks: rejected, each with its line number, none snapped.
    rejected = [(i.row, i.feature_id, i.field, i.reason) for i in result.issues if i.action == "rejected"]
    expected = [
        (n + 2, r["codice_spira"], "edge_id", f"edge {r['edge_id']} not in network {NETWORK}")
        for n, r in enumerate(rows)
        if r["codice_spira"] not in placed
    ]
    assert sorted(rejected) == sorted(expected)
    # One loop's edge runs against its direction of travel, and its other carriageway is not among the 12
    # edges: kept, with a warning (test_bologna_day_loops_named_against_their_direction_are_moved).
    doubted = [(i.row, i.feature_id, i.field, i.action) for i in result.issues if i.action != "rejected"]
    assert doubted == [(121, "2.35 2.21 6 1", "edge_id", "warning")]
    assert [i.reason for i in result.issues if i.action == "warning"] == [
        "edge a124 runs 143° against the loop's direction S, and no segment of network bologna-test within 50 m"
        " heads that way; kept on a124"
    ]
    assert result.counts["sensors"].warnings == 1
    c = result.counts
    assert (c["rows"].read, c["rows"].rejected) == (len(rows), len(expected))
    assert (c["sensors"].created, c["sensors"].rejected) == (len(placed), 85 - len(placed))
    assert c["readings"].created == 24 * len(placed_rows)  # no empty cell in this file
    # January to April 2024: history far older than the live gate's 7 days, stored all the same.
    a = placed_rows[0]
    code = sensor_code(source, a["codice_spira"])
    day, month, year = (int(x) for x in a["data"].split("/"))
    stored = _readings(code)
    # Local hours in Europe/Rome (CET, UTC+1, before 31 March): 08:00-09:00 starts at 07:00 UTC.
    assert stored[datetime(year, month, day, 7, tzinfo=UTC)] == float(a["08:00-09:00"])
    assert len(stored) == 24 * sum(1 for r in placed_rows if r["codice_spira"] == a["codice_spira"])
    # The 1 h rollups hold the hourly counts: per sensor their sum is the file's sum.
    totals: dict[str, float] = defaultdict(float)
    for r in placed_rows:
        totals[sensor_code(source, r["codice_spira"])] += sum(float(r[h]) for h in HOURS)
    rolled = defaultdict(float)
    for code_, total in Rollup.objects.filter(
        resolution="1h", sensor__source=source, property="vehicle_count"
    ).values_list("sensor__code", "total"):
        rolled[code_] += total
    assert rolled == totals
    # The latest value of each loop is its last hour in the file.
    last = max(stored)
    assert LatestValue.objects.get(sensor__code=code, property="vehicle_count").time == last

    run = ImportRun.objects.get(pk=result.run.pk)
    assert run.state == ImportState.SUCCEEDED
    assert run.options["network"] == NETWORK and run.options["time_zone"] == "Europe/Rome"
    assert run.counts["readings"]["created"] == 24 * len(placed_rows)
    assert run.errors[0]["file"] == "loop_counts_2024.csv"

    # A re-import stores nothing twice and changes nothing.
    n_readings, n_rollups = Reading.objects.count(), Rollup.objects.count()
    again = import_counts(path=COUNTS, network=NETWORK, time_zone="Europe/Rome")
    assert again.counts["readings"].created == 0
    assert again.counts["readings"].unchanged == 24 * len(placed_rows)
    assert (again.counts["sensors"].created, again.counts["sensors"].updated) == (0, 0)
    assert again.counts["sensors"].unchanged == len(placed)
    assert (Reading.objects.count(), Rollup.objects.count()) == (n_readings, n_rollups)
    assert sum(rolled.values()) == sum(
        Rollup.objects.filter(resolution="1h", sensor__source=source).values_list("total", flat=True)
    )


def test_an_edge_id_against_the_direction_of_travel_is_moved_to_the_other_carriageway(tmp_path: Path) -> None:
    # A two-way street running north-south as two directed edges ~8 m apart, as a SUMO network has it.
    up = _segment("up", (11.30000, 44.50000), (11.30000, 44.50200), source="twoway")
    down = _segment("-up", (11.30010, 44.50200), (11.30010, 44.50000), source="twoway")
    path = _write(
        tmp_path,
        "dir.csv",
        "detector,time,count,lat,lon,edge_id,direction\n"
        "wrong,2024-03-05T08:00:00Z,1,44.50100,11.30004,up,S\n"  # 2: names up, counts southbound traffic
        "right,2024-03-05T08:00:00Z,1,44.50100,11.30004,up,N\n"  # 3
        "plain,2024-03-05T08:00:00Z,1,44.50100,11.30004,-up,\n"  # 4: no direction: as named
        "east,2024-03-05T08:00:00Z,1,44.50100,11.30004,up,E\n",  # 5: no segment heads east
    )

    result = import_counts(path=path, network="twoway", time_zone="Europe/Rome")

    placed = dict(Sensor.objects.filter(source="dir").values_list("source_id", "road_segment_id"))
    assert placed == {"wrong": down.pk, "right": up.pk, "plain": down.pk, "east": up.pk}
    assert _issues(result) == [
        (2, "wrong", "edge_id", "edge up runs 180° against the loop's direction S; placed on -up 5 m away", "warning"),
        (5, "east", "edge_id",
         "edge up runs 90° against the loop's direction E, and no segment of network twoway within 50 m heads that"
         " way; kept on up", "warning"),
    ]  # fmt: skip
    c = result.counts
    assert (c["sensors"].read, c["sensors"].created, c["sensors"].rejected, c["sensors"].warnings) == (4, 4, 0, 2)
    assert (c["rows"].read, c["rows"].rejected, c["readings"].created) == (4, 0, 4)


def test_bologna_day_loops_named_against_their_direction_are_moved(tmp_path: Path) -> None:
    """One real day (11/01/2024) on the whole real network: every loop with a direction ends on a segment
    heading its way (checked here with sumolib's geometry, not the import's SQL), or stays on its named edge
    with a warning saying no segment heads its way."""
    import sumolib

    with open(COUNTS, encoding="utf-8") as fh:
        lines = fh.readlines()
    day = [line for line in lines[1:] if ";11/01/2024;" in line]
    path = _write(tmp_path, "loop_counts_2024.csv", lines[0] + "".join(day))
    net = sumolib.net.readNet(str(BOLOGNA / "joined_buslanes.net.xml"), withInternal=False)
    _bologna_segments({e.getID() for e in net.getEdges()})

    result = import_counts(path=path, network=NETWORK, time_zone="Europe/Rome")

    rows = list(csv.DictReader(StringIO(lines[0] + "".join(day)), delimiter=";"))
    assert len(rows) == 77  # 77 of the 85 loops count that day
    edge_of = dict(Sensor.objects.filter(source="loop_counts_2024").values_list("source_id", "road_segment__source_id"))
    assert len(edge_of) == 77
    warnings = {i.feature_id: i.reason for i in result.issues if i.action == "warning"}
    assert not [i for i in result.issues if i.action != "warning"]
    compass = {"N": 0, "NE": 45, "E": 90, "SE": 135, "S": 180, "SO": 225, "O": 270, "NO": 315}
    moved, kept = [], []
    for r in rows:
        loop, named = r["codice_spira"], r["edge_id"]
        lat, lon = (float(v) for v in r["geopoint"].split(","))
        # the file's direction, else its angle (counter-clockwise from north)
        wanted = compass[r["direzione"]] if r["direzione"] else (360 - float(r["angolo"])) % 360
        heading = _heading(net.getEdge(edge_of[loop]), *net.convertLonLat2XY(lon, lat))
        agrees = abs((heading - wanted + 180) % 360 - 180) <= 67.5
        if edge_of[loop] != named:
            assert agrees, loop
            assert warnings[loop].startswith(f"edge {named} runs ")
            assert f"; placed on {edge_of[loop]} " in warnings[loop]
            moved.append(loop)
        elif not agrees:
            assert warnings[loop].endswith(f"heads that way; kept on {named}"), loop
            kept.append(loop)
        else:
            assert loop not in warnings
    # Measured on this day: 27 of the 77 loops named an edge running against them and were moved; 4 stay.
    assert (len(moved), len(kept)) == (27, 4)
    c = result.counts
    assert (c["sensors"].created, c["sensors"].rejected, c["sensors"].warnings) == (77, 0, len(warnings))
    assert c["readings"].created == 24 * 77


def _heading(edge, x: float, y: float) -> float:  # noqa: ANN001 - a sumolib edge
    """The edge's direction (degrees clockwise from grid north) on its shape's piece nearest (x, y)."""
    best = (float("inf"), 0.0)
    shape = edge.getShape()
    for (x1, y1), (x2, y2) in zip(shape, shape[1:], strict=False):
        dx, dy = x2 - x1, y2 - y1
        t = max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / ((dx * dx + dy * dy) or 1e-9)))
        distance = math.hypot(x - x1 - t * dx, y - y1 - t * dy)
        best = min(best, (distance, math.degrees(math.atan2(dx, dy)) % 360))
    return best[1]


def test_long_file_snaps_by_coordinates_in_the_direction_of_travel(tmp_path: Path) -> None:
    # A two-way street running north-south (two directed segments ~8 m apart), far from the demo city.
    north = _segment("north", (11.30000, 44.50000), (11.30000, 44.50200))
    south = _segment("south", (11.30010, 44.50200), (11.30010, 44.50000))
    path = _write(
        tmp_path,
        "counts.csv",
        "detector,time,count,lat,lon,direction\n"
        # 3 m east of the southbound carriageway, but heading north: the northbound one
        "L-north,2024-03-05T08:00:00,120,44.50100,11.30014,N\n"
        # the same spot without a direction: the nearest
        "L-near,2024-03-05T08:00:00,80,44.50100,11.30014,\n"
        # heading east: no segment there goes east
        "L-east,2024-03-05T08:00:00,10,44.50100,11.30014,E\n"
        # 400 m away from any segment
        "L-far,2024-03-05T08:00:00,10,44.50500,11.30400,\n"
        # 3 m west of the northbound carriageway, heading south; an explicit offset
        "L-south,2024-03-05T08:00:00+01:00,33,44.50100,11.29996,S\n",
    )

    result = import_counts(path=path, time_zone="Europe/Rome", source="Snap Test")

    placed = dict(Sensor.objects.filter(source="Snap Test").values_list("source_id", "road_segment_id"))
    assert placed == {"L-north": north.pk, "L-near": south.pk, "L-south": south.pk}
    reasons = {i.feature_id: (i.row, i.field, i.reason) for i in result.issues}
    assert reasons["L-east"][:2] == (4, "lat")
    assert reasons["L-east"][2].startswith(
        f"no road segment of the stored roads heading 90° (±67.5°) within 50 m; the nearest, segment {south.pk} at "
    )
    assert reasons["L-far"] == (5, "lat", "no road segment of the stored roads within 50 m")
    # 08:00 local in March is 07:00 UTC.
    assert _readings(
        "snap-test-l-north"
    )  # the code: dataset and loop id as a slug == {datetime(2024, 3, 5, 7, tzinfo=UTC): 120.0}


def test_bearing_column_and_network_restricts_snapping(tmp_path: Path) -> None:
    _segment("other-net", (11.30000, 44.50000), (11.30000, 44.50200), source="elsewhere")
    mine = _segment("mine", (11.30010, 44.50000), (11.30010, 44.50200), source="mynet")
    path = _write(
        tmp_path,
        "b.csv",
        "detector;date;hour;count;lat;lon;bearing\nB1;05/03/2024;8;5;44.50100;11.30000;10\n",
    )
    result = import_counts(path=path, network="mynet", time_zone="Europe/Rome")
    assert not result.issues
    assert Sensor.objects.get(source_id="B1", source="b").road_segment_id == mine.pk


def test_malformed_rows_are_reported_with_row_and_field_and_the_rest_stored(tmp_path: Path) -> None:
    _segment("m", (11.30000, 44.50000), (11.30000, 44.50200))
    path = _write(
        tmp_path,
        "bad.csv",
        "detector;date;hour;count;lat;lon\n"
        "D1;05/03/2024;7;10;44.501;11.30001\n"  # 2: fine
        "D1;31/02/2024;8;10;44.501;11.30001\n"  # 3: no such date
        "D1;05/03/2024;9;-4;44.501;11.30001\n"  # 4: negative
        "D1;05/03/2024;10;many;44.501;11.30001\n"  # 5: not a number
        ";05/03/2024;11;3;44.501;11.30001\n"  # 6: no detector
        "D1;05/03/2024;25;3;44.501;11.30001\n"  # 7: no such hour
        "D1;05/03/2024;12;2.5;44.501;11.30001\n"  # 8: not a whole number
        "D1;05/03/2024;13\n"  # 9: short row
        "D1;05/03/2024;14;12;44.501;11.30001\n"  # 10: fine
        "D1;05/03/2024;14;13;44.501;11.30001\n",  # 11: the same hour again, another count
    )
    result = import_counts(path=path, time_zone="Europe/Rome")
    assert _issues(result) == [
        (3, "D1", "date", "not a date (dd/mm/yyyy or yyyy-mm-dd): '31/02/2024'", "rejected"),
        (4, "D1", "count", "-4 is outside 0..10000 vehicles per hour", "rejected"),
        (5, "D1", "count", "not a number: 'many'", "rejected"),
        (6, None, "detector", "no detector id", "rejected"),
        (7, "D1", "hour", "not an hour 0..23 (or HH:00, HH:00-HH:00): '25'", "rejected"),
        (8, "D1", "count", "not a whole number of vehicles: '2.5'", "rejected"),
        (9, None, "*", "has 3 fields, the header 6", "rejected"),
        (11, "D1", "count", "row 10 already gives 12 for 2024-03-05 13:00 UTC, this row 13", "rejected"),
    ]
    assert _readings("bad-d1") == {
        datetime(2024, 3, 5, 6, tzinfo=UTC): 10.0,
        datetime(2024, 3, 5, 13, tzinfo=UTC): 12.0,
    }
    assert (result.counts["rows"].read, result.counts["rows"].rejected) == (10, 7)

    out = StringIO()
    call_command("import_counts", str(path), "--time-zone", "Europe/Rome", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "bad.csv row 4 (id D1), field count: -4 is outside 0..10000 vehicles per hour [rejected]" in text
    assert "Dry run: nothing was written." in text


def test_wide_file_on_the_two_dst_days(tmp_path: Path) -> None:
    _segment("w", (11.30000, 44.50000), (11.30000, 44.50200))
    spring = ["1"] * 24
    spring[2] = "0"  # 02:00-03:00 does not exist on 31/03/2024 in Rome; portals leave 0 there
    spring_bad = ["1"] * 24
    spring_bad[2] = "7"
    autumn = [str(h + 100) for h in range(24)]
    header = "data;codice_spira;" + ";".join(HOURS) + ";geopoint\n"
    path = _write(
        tmp_path,
        "dst.csv",
        header
        + "31/03/2024;A;" + ";".join(spring) + ";44.501, 11.30001\n"
        + "31/03/2024;B;" + ";".join(spring_bad) + ";44.501, 11.30001\n"
        + "27/10/2024;A;" + ";".join(autumn) + ";44.501, 11.30001\n",
    )  # fmt: skip
    result = import_counts(path=path, time_zone="Europe/Rome")
    assert _issues(result) == [
        (3, "B", "02:00-03:00",
         "02:00-03:00 does not exist on 31/03/2024 in Europe/Rome (the clocks go forward): count 7 not stored", "warning"),
        (4, "A", "02:00-03:00",
         "02:00-03:00 happens twice on 27/10/2024 in Europe/Rome (the clocks go back): count 102 stored at the first,"
         " 00:00 UTC", "warning"),
    ]  # fmt: skip
    a = _readings("dst-a")
    spring_day = sorted(t for t in a if t.month == 3)
    # 23 hours: 00:00 and 01:00 CET (23:00, 00:00 UTC), then 03:00 CEST = 01:00 UTC ... 23:00 CEST = 21:00 UTC.
    assert len(spring_day) == 23
    assert spring_day[0] == datetime(2024, 3, 30, 23, tzinfo=UTC) and spring_day[-1] == datetime(
        2024, 3, 31, 21, tzinfo=UTC
    )
    assert spring_day[2] == datetime(2024, 3, 31, 1, tzinfo=UTC)
    autumn_day = {t: v for t, v in a.items() if t.month == 10}
    assert len(autumn_day) == 24
    assert autumn_day[datetime(2024, 10, 26, 22, tzinfo=UTC)] == 100  # 00:00 CEST
    assert autumn_day[datetime(2024, 10, 27, 0, tzinfo=UTC)] == 102  # the first 02:00 (CEST)
    assert datetime(2024, 10, 27, 1, tzinfo=UTC) not in autumn_day  # the second 02:00 (CET): no column
    assert autumn_day[datetime(2024, 10, 27, 2, tzinfo=UTC)] == 103  # 03:00 CET
    assert autumn_day[datetime(2024, 10, 27, 22, tzinfo=UTC)] == 123  # 23:00 CET
    assert len(_readings("dst-b")) == 23


def test_long_file_on_the_two_dst_days(tmp_path: Path) -> None:
    _segment("l", (11.30000, 44.50000), (11.30000, 44.50200))
    path = _write(
        tmp_path,
        "ldst.csv",
        "detector,date,hour,count,lat,lon\n"
        "L,27/10/2024,1,10,44.501,11.30001\n"
        "L,27/10/2024,2,20,44.501,11.30001\n"  # the first 02:00 (CEST)
        "L,27/10/2024,2,21,44.501,11.30001\n"  # the second (CET)
        "L,27/10/2024,3,30,44.501,11.30001\n"
        "L,31/03/2024,2,5,44.501,11.30001\n",  # does not exist
    )
    result = import_counts(path=path, time_zone="Europe/Rome")
    assert _issues(result) == [
        (6, "L", "hour", "31/03/2024 02:00 does not exist in Europe/Rome (the clocks go forward)", "rejected")
    ]
    assert _readings("ldst-l") == {
        datetime(2024, 10, 26, 23, tzinfo=UTC): 10.0,
        datetime(2024, 10, 27, 0, tzinfo=UTC): 20.0,
        datetime(2024, 10, 27, 1, tzinfo=UTC): 21.0,
        datetime(2024, 10, 27, 2, tzinfo=UTC): 30.0,
    }


def test_a_changed_count_is_reported_not_overwritten_and_rollups_match(tmp_path: Path) -> None:
    _segment("r", (11.30000, 44.50000), (11.30000, 44.50200))
    text = "detector,time,count,lat,lon\n" + "".join(
        f"R,2024-03-05T{h:02d}:00:00Z,{h * 10},44.501,11.30001\n" for h in range(6)
    )
    first = import_counts(path=_write(tmp_path, "r.csv", text))
    assert first.counts["readings"].created == 6
    changed = import_counts(path=_write(tmp_path, "r.csv", text.replace("T03:00:00Z,30", "T03:00:00Z,31")))
    assert changed.counts["readings"].unchanged == 5
    assert _issues(changed) == [
        (5, "R", "count", "already stored for 2024-03-05 03:00 UTC with another count (30.0); readings are not overwritten",
         "rejected"),
    ]  # fmt: skip
    hourly = dict(Rollup.objects.filter(resolution="1h", sensor__code="r-r").values_list("bucket", "total"))
    assert {b.astimezone(UTC).hour: t for b, t in hourly.items()} == {h: h * 10.0 for h in range(6)}


def test_file_level_errors_name_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.csv", "a,b\n1,2\n")
    with pytest.raises(ImportFileError, match=r"x.csv: is not a loop-count file: no a detector column"):
        import_counts(path=path)
    with pytest.raises(ImportFileError, match=r"x.csv: no road segments in network 'nope'"):
        import_counts(path=path, network="nope")
    with pytest.raises(ImportFileError, match=r"unknown time zone 'Mars/Olympus'"):
        import_counts(path=path, time_zone="Mars/Olympus")
    with pytest.raises(ImportFileError, match=r"x.csv: the source name must be 1 to 64 characters, not 65"):
        import_counts(path=path, source="s" * 65)
    wide = _write(tmp_path, "w.csv", "data;codice_spira;" + ";".join(HOURS[:23]) + "\n")
    with pytest.raises(CommandError, match=r"w.csv: has hourly columns but not exactly the 24"):
        call_command("import_counts", str(wide), stdout=StringIO())
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sensors_sensor WHERE source IN ('x', 'w')")
        assert cursor.fetchone()[0] == 0


def test_hostile_rows_are_row_errors_and_an_unreadable_line_fails_the_file_cleanly(tmp_path: Path) -> None:
    _segment("h", (11.30000, 44.50000), (11.30000, 44.50200))
    Sensor.objects.create(source="elsewhere", source_id="x", code="hostile-taken", kind="traffic",
                          geom="SRID=4326;POINT(11.3 44.501)")  # fmt: skip
    long_id = "L" * 129
    path = _write(
        tmp_path,
        "hostile.csv",
        "detector,time,count,lat,lon\n"
        "ok,2024-03-05T08:00:00Z,1,44.501,11.30001\n"  # 2
        "nul\x00,2024-03-05T08:00:00Z,1,44.501,11.30001\n"  # 3
        f"{long_id},2024-03-05T08:00:00Z,1,44.501,11.30001\n"  # 4
        "ok,9999-12-31T23:00:00-05:00,1,44.501,11.30001\n"  # 5
        "ok,2999-01-01T00:00:00Z,1,44.501,11.30001\n"  # 6
        "ok,2024-03-05T08:00:00Z,nan,44.501,11.30001\n"  # 7
        "far,2024-03-05T08:00:00Z,1,91,11.30001\n"  # 8
        "taken,2024-03-05T08:00:00Z,1,44.501,11.30001\n",  # 9: its code is another sensor's
    )
    result = import_counts(path=path)
    assert _issues(result) == [
        (3, None, "*", "contains a NUL character", "rejected"),
        (4, None, "detector", "a detector id of 129 characters; at most 128", "rejected"),
        (5, "ok", "time", "outside the years 1..9999 in UTC: '9999-12-31T23:00:00-05:00'", "rejected"),
        (6, "ok", "count", "2999-01-01 00:00 UTC is in the future", "rejected"),
        (7, "ok", "count", "not a whole number of vehicles: 'nan'", "rejected"),
        (8, None, "lat", "not a latitude and longitude: 91.0, 11.30001", "rejected"),
        (9, "taken", "detector",
         "the sensor code hostile-taken belongs to another sensor (source elsewhere, id x)", "rejected"),
    ]  # fmt: skip
    assert _readings("hostile-ok") == {datetime(2024, 3, 5, 8, tzinfo=UTC): 1.0}

    huge = _write(
        tmp_path, "huge.csv", "detector,time,count\nA,2024-03-05T08:00:00Z,1\n" + "B," + "9" * 200_000 + ",1\n"
    )
    with pytest.raises(ImportFileError, match=r"huge.csv: line 3 cannot be read: field larger than field limit"):
        import_counts(path=huge)
    run = ImportRun.objects.filter(source_name="huge.csv").get()
    assert run.state == ImportState.FAILED and "nothing was changed" in run.message
    assert not Sensor.objects.filter(source="huge").exists()
