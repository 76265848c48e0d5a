"""The parts of energy runs that need no simulation: the paired fleet draw, charging power from OSM tags,
SUMO's charging station output binned into intervals, junction edges attributed to the segment a car
comes from, and the document's energy keys refused with their field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.simulation.energy import _kw_from_tags
from apps.simulation.sumo.charging import read_station_energy
from apps.simulation.sumo.fleet import ELECTRIC, SOC_MAX, SOC_MIN, FleetMix, initial_charge, vehicle_type
from apps.simulation.sumo.outputs import internal_edge_owners


def test_raising_the_electric_share_turns_cars_electric_and_changes_no_other_car() -> None:
    none = FleetMix.of({"petrol": 0.7, "diesel": 0.3, "electric": 0.0})
    some = FleetMix.of({"petrol": 0.7, "diesel": 0.3, "electric": 0.0}, ev_share=0.3)
    assert some.electric == 0.3 and some.petrol == pytest.approx(0.49) and some.diesel == pytest.approx(0.21)
    ids = [str(i) for i in range(20000)]
    before = {v: vehicle_type(none, v, seed=1) for v in ids}
    after = {v: vehicle_type(some, v, seed=1) for v in ids}
    assert ELECTRIC not in before.values()
    changed = [v for v in ids if before[v] != after[v]]
    assert all(after[v] == ELECTRIC for v in changed)
    assert len(changed) / len(ids) == pytest.approx(0.3, abs=0.01)
    diesel = sum(1 for v in ids if after[v] == "fleet_diesel") / len(ids)
    assert diesel == pytest.approx(0.21, abs=0.01)
    # another seed draws other cars
    assert {v for v in ids if vehicle_type(some, v, seed=2) == ELECTRIC} != {v for v in changed}
    charges = [initial_charge(v, 1) for v in ids[:2000]]
    assert SOC_MIN <= min(charges) < SOC_MIN + 0.01 and SOC_MAX - 0.01 < max(charges) <= SOC_MAX


@pytest.mark.parametrize(
    ("tags", "kw"),
    [
        ({"socket:type2:output": "22 kW"}, 22.0),
        ({"charging_station:output": "150 kW;50 kW"}, 150.0),
        ({"socket:chademo:output": "50000 W"}, 50.0),
        ({"socket:type2:output": "3,7 kW"}, 3.7),
        ({"capacity": "4"}, None),
    ],
)
def test_charging_power_from_osm_tags(tags: dict[str, str], kw: float | None) -> None:
    assert _kw_from_tags(tags) == kw


def test_charging_station_output_is_binned_into_the_run_intervals(tmp_path: Path) -> None:
    output = tmp_path / "cs.xml"
    output.write_text(
        """<chargingstations-export>
  <chargingStation id="cs1" totalEnergyCharged="30" chargingSteps="3">
    <vehicle id="a" type="t" totalEnergyChargedIntoVehicle="20" chargingBegin="598" chargingEnd="600">
      <step time="598.00" chargingStatus="charging" energyCharged="5"/>
      <step time="599.00" chargingStatus="charging" energyCharged="5"/>
      <step time="600.00" chargingStatus="charging" energyCharged="10"/>
    </vehicle>
    <vehicle id="b" type="t" totalEnergyChargedIntoVehicle="10" chargingBegin="700" chargingEnd="701">
      <step time="700.00" chargingStatus="charging" energyCharged="10"/>
      <step time="701.00" chargingStatus="waitingForCharge" energyCharged="0"/>
    </vehicle>
  </chargingStation>
  <chargingStation id="cs2" totalEnergyCharged="0" chargingSteps="0"/>
</chargingstations-export>"""
    )
    rows, per_vehicle = read_station_energy(output, begin=0, period=600)
    assert [(r.station, r.interval_begin, r.energy_wh, r.vehicles) for r in rows] == [
        ("cs1", 0, 10.0, 1),
        ("cs1", 600, 20.0, 2),
    ]
    assert per_vehicle == {"a": (20.0, "cs1"), "b": (10.0, "cs1")}
    assert read_station_energy(tmp_path / "missing.xml", 0, 600) == ([], {})


def test_junction_edges_belong_to_the_edge_cars_come_from(tmp_path: Path) -> None:
    net = tmp_path / "net.xml"
    net.write_text(
        """<net>
  <edge id=":J1_0" function="internal"><lane id=":J1_0_0" index="0" length="5"/></edge>
  <edge id=":J1_1" function="internal"><lane id=":J1_1_0" index="0" length="5"/></edge>
  <edge id=":J1_2" function="internal"><lane id=":J1_2_0" index="0" length="3"/></edge>
  <edge id="a"><lane id="a_0" index="0" length="100"/></edge>
  <connection from="a" to="b" fromLane="0" toLane="0" via=":J1_0_0"/>
  <connection from="c" to="d" fromLane="0" toLane="0" via=":J1_1_0"/>
  <connection from=":J1_1" to="d" fromLane="0" toLane="0" via=":J1_2_0"/>
</net>"""
    )
    assert internal_edge_owners(net) == {":J1_0": "a", ":J1_1": "c", ":J1_2": "c"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"fleet": {"petrol": 0.5, "diesel": 0.3, "electric": 0.1}}, "fleet"),
        (
            {
                "fleet": {
                    "petrol": 0.5,
                    "diesel": 0.4,
                    "electric": 0.1,
                    "classes": {"petrol": "HBEFA4/PC_diesel_Euro-4"},
                }
            },
            "fleet",
        ),
        ({"edits": [{"type": "ev_share", "share": 1.5}]}, "edits"),
        ({"edits": [{"type": "ev_share", "share": 0.1}, {"type": "ev_share", "share": 0.2}]}, "edits"),
        ({"edits": [{"type": "add_charging_station", "segment": 999999999}]}, "edits"),
        ({"charging": {"threshold": 2}}, "charging"),
    ],
)
def test_energy_keys_are_checked(api_as, planner, extra: dict[str, object], field: str) -> None:  # noqa: ANN001
    doc = {"name": "x", "begin": 0, "end": 600, "demand": {"source": "random"}, **extra}
    response = api_as(planner).post("/api/scenarios/", doc, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()


@pytest.mark.django_db
def test_a_charger_on_a_closed_segment_is_refused_and_defaults_are_filled_in(api_as, planner) -> None:  # noqa: ANN001
    from apps.roads.models import RoadSegment

    segment = RoadSegment.objects.filter(highway="secondary").order_by("id").first()
    assert segment is not None
    client = api_as(planner)
    edits = [{"type": "close_segment", "segment": segment.pk}, {"type": "add_charging_station", "segment": segment.pk}]
    response = client.post(
        "/api/scenarios/", {"name": "x", "begin": 0, "end": 600, "demand": {"source": "random"}, "edits": edits},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert "closed" in str(response.json()["errors"]["edits"]["1"])
    ok = client.post(
        "/api/scenarios/",
        {"name": "y", "begin": 0, "end": 600, "demand": {"source": "random"}, "edits": edits[1:]},
        format="json",
    )
    assert ok.status_code == 201, ok.content
    doc = ok.json()["document"]
    assert doc["energy"] is True and doc["fleet"]["electric"] == pytest.approx(0.08)
    assert doc["charging"]["threshold"] == 0.2 and doc["edits"][0]["power_kw"] == 22.0 and doc["day"]
