"""Scenarios and their runs.

A Scenario is a versioned JSON document (documents.py): network, window, demand, edits, seeds. Once it
has a run it is locked: saving it again makes a new version in the same lineage, so every run can be
reproduced from its stored document, the network hash it ran on, and its seeds.

A ScenarioRun is one press of "run": one SeedRun per seed, each a job (apps.jobs) that runs one SUMO
simulation. Results are per seed run, keyed by (seed run, segment, interval) so a redelivered job that
writes them again replaces them rather than adding rows; the run's figures are means over its seeds."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.gis.db import models


class Scenario(models.Model):
    lineage = models.UUIDField(default=uuid.uuid4, db_index=True, help_text="Shared by every version.")
    version = models.PositiveIntegerField(default=1)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children",
        help_text="The version this one was edited or duplicated from.",
    )  # fmt: skip
    base = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="variants",
        help_text="The scenario its edits and results are compared against.",
    )  # fmt: skip
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    document = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["lineage", "version"], name="scenario_version_unique")]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"

    @property
    def network(self) -> str:
        return str(self.document.get("network", "city"))


class RunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class ScenarioRun(models.Model):
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="runs")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    document = models.JSONField(help_text="The scenario document as run (the scenario is locked, this is a copy).")
    network = models.CharField(max_length=48)
    network_hash = models.CharField(max_length=64, help_text="The road network the run used (set by its first seed).")
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.QUEUED)
    error = models.TextField(blank=True)
    kpis = models.JSONField(default=dict, blank=True, help_text="Means over seeds, with their 95 % intervals.")
    calibration = models.JSONField(null=True, blank=True, help_text="share_geh_below_5, r2, count; null: no counts.")
    grid = models.JSONField(
        null=True, blank=True, help_text="The grid model's summary (note, substations); null: no energy."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"run #{self.pk} of {self.scenario}"


class SeedRun(models.Model):
    run = models.ForeignKey(ScenarioRun, on_delete=models.CASCADE, related_name="seed_runs")
    seed = models.IntegerField()
    job = models.OneToOneField("jobs.Job", on_delete=models.PROTECT, related_name="seed_run")
    network_hash = models.CharField(max_length=64, blank=True)
    kpis = models.JSONField(default=dict, blank=True)
    demand = models.JSONField(default=dict, blank=True, help_text="What the demand step made (vehicles, dropped...).")

    class Meta:
        ordering = ["run", "seed"]
        constraints = [models.UniqueConstraint(fields=["run", "seed"], name="seed_run_unique")]

    def __str__(self) -> str:
        return f"seed {self.seed} of run #{self.run_id}"


class SegmentResult(models.Model):
    """SUMO edgeData of one seed run, one segment and interval. No foreign key to the segment: a result
    outlives a reload that replaces the roads (it then no longer joins to a geometry, and says so)."""

    seed_run = models.ForeignKey(SeedRun, on_delete=models.CASCADE, related_name="segments")
    segment_id = models.BigIntegerField()
    interval_begin = models.IntegerField(help_text="Seconds of the day.")
    interval_end = models.IntegerField()
    entered = models.FloatField(default=0, help_text="Vehicles that passed the start: drove onto it or departed on it.")
    flow_veh_h = models.FloatField(default=0)
    speed_kmh = models.FloatField(null=True)
    travel_time_s = models.FloatField(null=True)
    waiting_time_s = models.FloatField(default=0)
    density = models.FloatField(default=0, help_text="Vehicles per km.")
    occupancy = models.FloatField(default=0, help_text="Percent.")
    sampled_seconds = models.FloatField(default=0)
    # From the emissions edgeData (HBEFA 4 for combustion cars, SUMO's energy model for electric ones); what
    # cars emit or use crossing a junction counts on the segment they come from.
    co2_g = models.FloatField(default=0)
    nox_mg = models.FloatField(default=0)
    pmx_mg = models.FloatField(default=0)
    fuel_ml = models.FloatField(default=0)
    electricity_wh = models.FloatField(default=0, help_text="Used by electric cars, net of regeneration.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["seed_run", "segment_id", "interval_begin"], name="segment_result_unique")
        ]
        indexes = [models.Index(fields=["segment_id"], name="segment_result_segment")]

    def __str__(self) -> str:
        return f"segment {self.segment_id} at {self.interval_begin} s"


class CalibrationRow(models.Model):
    """Observed vs simulated count of one detector segment and hour: the sum of the traffic sensors on the
    segment (one per lane, often) against SUMO's flow over the whole segment. `sensor` is the first of
    them, where the map draws the row."""

    run = models.ForeignKey(ScenarioRun, on_delete=models.CASCADE, related_name="calibration_rows")
    sensor = models.ForeignKey("sensors.Sensor", on_delete=models.CASCADE, related_name="+")
    sensor_ids = models.JSONField(default=list)
    segment_id = models.BigIntegerField()
    hour_begin = models.IntegerField(help_text="Seconds of the day.")
    observed = models.FloatField()
    simulated = models.FloatField()
    geh = models.FloatField()

    class Meta:
        ordering = ["sensor", "hour_begin"]
        constraints = [models.UniqueConstraint(fields=["run", "segment_id", "hour_begin"], name="calibration_unique")]

    def __str__(self) -> str:
        return f"segment {self.segment_id} at {self.hour_begin} s: GEH {self.geh:.1f}"


class ChargingStation(models.Model):
    """A charging station of a run as placed in SUMO: a stored asset (charging_station) or an
    add_charging_station edit. `placed` is False where no car lane was near enough to put it on."""

    run = models.ForeignKey(ScenarioRun, on_delete=models.CASCADE, related_name="charging_stations")
    key = models.CharField(max_length=32, help_text="asset-<id> or edit-<n>; SUMO's id of it.")
    name = models.CharField(max_length=255, blank=True)
    asset_id = models.BigIntegerField(null=True, blank=True)
    segment_id = models.BigIntegerField(null=True, blank=True)
    geom = models.PointField(srid=4326)
    power_kw = models.FloatField()
    points = models.PositiveSmallIntegerField()
    placed = models.BooleanField(default=True)
    substation_key = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["run", "key"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="charging_station_unique")]

    def __str__(self) -> str:
        return f"{self.key} of run #{self.run_id}"


class StationEnergy(models.Model):
    """Energy a charging station put into cars in one interval of one seed (SUMO's charging station output)."""

    seed_run = models.ForeignKey(SeedRun, on_delete=models.CASCADE, related_name="station_energy")
    station = models.CharField(max_length=32)
    interval_begin = models.IntegerField()
    interval_end = models.IntegerField()
    energy_wh = models.FloatField()
    vehicles = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["seed_run", "station", "interval_begin"], name="station_energy_unique")
        ]


class EvTrip(models.Model):
    """One electric car of one seed: its battery at departure and arrival, energy used, where it charged.
    A car that did not charge at a station recharges at its destination: the building nearest the end of
    its trip, on that building's substation (docs/energy.md)."""

    seed_run = models.ForeignKey(SeedRun, on_delete=models.CASCADE, related_name="ev_trips")
    vehicle = models.CharField(max_length=64)
    depart_s = models.FloatField()
    arrival_s = models.FloatField(null=True, help_text="Null: still driving at the end of the window.")
    route_length_m = models.FloatField(default=0)
    soc_depart = models.FloatField()
    soc_arrival = models.FloatField()
    used_wh = models.FloatField(help_text="Battery energy used for driving, net of regeneration.")
    charged_wh = models.FloatField(default=0, help_text="Charged at a charging station on the way.")
    station = models.CharField(max_length=32, blank=True)
    building_id = models.BigIntegerField(null=True, blank=True, help_text="Where it recharges: the nearest building.")
    substation_key = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["seed_run", "vehicle"], name="ev_trip_unique")]


class GridSubstation(models.Model):
    """A substation of the grid model a run was computed on, with its service area and its peak; synthetic
    where the city's power data could not serve its buildings (apps.energy.grid)."""

    run = models.ForeignKey(ScenarioRun, on_delete=models.CASCADE, related_name="substations")
    key = models.CharField(max_length=32)
    name = models.CharField(max_length=255, blank=True)
    asset_id = models.BigIntegerField(null=True, blank=True)
    synthetic = models.BooleanField(default=False)
    capacity_kva = models.FloatField()
    capacity_source = models.CharField(max_length=16)
    geom = models.PointField(srid=4326)
    area = models.GeometryField(srid=4326, null=True)
    buildings = models.PositiveIntegerField(default=0)
    peak_kw = models.FloatField(default=0)
    peak_loading_pct = models.FloatField(default=0)
    overload_hours = models.FloatField(default=0, help_text="Hours of the window above 100 % loading.")

    class Meta:
        ordering = ["run", "key"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="grid_substation_unique")]

    def __str__(self) -> str:
        return f"{self.key} of run #{self.run_id}"


class SubstationLoad(models.Model):
    """A substation's load and transformer loading in one interval (mean over the run's seeds)."""

    substation = models.ForeignKey(GridSubstation, on_delete=models.CASCADE, related_name="loads")
    interval_begin = models.IntegerField()
    interval_end = models.IntegerField()
    buildings_kw = models.FloatField()
    stations_kw = models.FloatField()
    destinations_kw = models.FloatField(help_text="Electric cars recharging at their destination.")
    loading_pct = models.FloatField(null=True, help_text="Null: the power flow did not converge.")

    class Meta:
        ordering = ["substation", "interval_begin"]
        constraints = [models.UniqueConstraint(fields=["substation", "interval_begin"], name="substation_load_unique")]


class PublishedComparison(models.Model):
    """A comparison of two runs a planner chose to show the public (the portal lists these only). What the
    public sees of it is chosen by selectors.published_comparison_view: KPIs and per-segment differences,
    never the grid's substations (critical infrastructure) nor anything per building."""

    run = models.ForeignKey(ScenarioRun, on_delete=models.CASCADE, related_name="+")
    against = models.ForeignKey(ScenarioRun, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, help_text="What the planner wants the public to know, in words.")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-published_at"]
        constraints = [models.UniqueConstraint(fields=["run", "against"], name="published_comparison_unique")]

    def __str__(self) -> str:
        return self.title
