"""The planner's pages: the scenarios list, the scenario editor and a run's page.

They are shells: everything they show or change goes through the scenario API (apps/simulation/api),
which checks roles itself. The pages check the role too, so that a traffic operator gets a page saying
why instead of an editor whose every request fails. The views pass only what the API does not give:
where each network lies (to fit the map) and the defaults of a new scenario."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.gis.db.models import Extent
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import ensure_csrf_cookie

from apps.roads.networks import CITY, network_names, segments_of

from .selectors import can_plan, runs_visible_to, scenarios_visible_to

API = {"scenarios": "/api/scenarios/", "runs": "/api/runs/", "districts": "/api/districts/"}
LIST_PAGE_SIZE = 20
# Central Helsinki: where the maps open when a network has no stored segments yet.
FALLBACK_BOUNDS = [24.92, 60.16, 24.96, 60.175]
NEW_SCENARIO: dict[str, Any] = {
    "name": "",
    "network": CITY,
    "begin": 7 * 3600,
    "end": 9 * 3600,
    "interval": 900,
    "demand": {"source": "random", "period": 1.0, "seed": 1, "fringe_factor": 5, "scale": 1.0},
    "seeds": [1],
    "edits": [],
}

View = Callable[..., HttpResponse]


def planner_page(view: View) -> View:
    """Sign-in first (anonymous -> the login page), then planners and admins only (others -> 403 page)."""

    @functools.wraps(view)
    @login_required
    @ensure_csrf_cookie  # the pages POST to the API with the X-CSRFToken header
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_plan(request.user):
            return render(request, "scenarios/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _networks() -> list[dict[str, Any]]:
    """Each network the twin can simulate, with the extent of its stored segments for the map."""
    found = []
    for name in network_names():
        extent = segments_of(name).aggregate(e=Extent("geom"))["e"]
        label = "City roads (stored)" if name == CITY else f"{name} (imported SUMO network)"
        found.append({"name": name, "label": label, "bounds": list(extent) if extent else FALLBACK_BOUNDS})
    return found


@planner_page
def scenario_list(request: HttpRequest) -> HttpResponse:
    config = {"api": API, "page_size": LIST_PAGE_SIZE}
    return render(request, "scenarios/list.html", {"config": config})


@planner_page
def scenario_editor(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """/scenarios/new/ (optionally ?base=<id> to compare against) and /scenarios/<id>/."""
    base = request.GET.get("base", "")
    config = {
        "api": API,
        "scenario_id": pk,
        "base": int(base) if pk is None and base.isdigit() and len(base) < 10 else None,
        "networks": _networks(),
        "defaults": NEW_SCENARIO,
    }
    title = "New scenario" if pk is None else get_object_or_404(scenarios_visible_to(request.user), pk=pk).name
    return render(request, "scenarios/editor.html", {"config": config, "title": title})


@planner_page
def run_page(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(runs_visible_to(request.user), pk=pk)  # a 404 page, not a page that says so later
    config = {"api": API, "run_id": pk, "networks": _networks()}
    return render(request, "scenarios/run.html", {"config": config, "run_id": pk})
