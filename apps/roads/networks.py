"""Which road networks the twin can simulate: "city" (the stored roads of every source that is not an
imported SUMO network) and each imported SUMO network by name (roads.RoadNetwork)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.db import transaction

from .models import RoadNetwork, RoadSegment

CITY = "city"
"""The network built from the stored roads (apps.simulation.sumo.network)."""


def network_names() -> list[str]:
    return [CITY, *RoadNetwork.objects.values_list("name", flat=True)]


def imported_sources() -> list[str]:
    """The sources whose rows belong to an imported network, not to the city's own roads."""
    return list(RoadNetwork.objects.values_list("name", flat=True))


def net_path(network: RoadNetwork) -> Path:
    return Path(settings.MEDIA_ROOT) / network.net_file


def route_paths(network: RoadNetwork) -> list[Path]:
    return [Path(settings.MEDIA_ROOT) / relative for relative in network.route_files]


def segments_of(name: str):  # noqa: ANN201 - a RoadSegment queryset
    """The stored segments of a network."""
    if name == CITY:
        return RoadSegment.objects.exclude(source__in=imported_sources())
    return RoadSegment.objects.filter(source=name)


@transaction.atomic
def register_network(
    *,
    name: str,
    path: Path,
    sha256: str,
    projection: str = "",
    edges: int = 0,
    junctions: int = 0,
    route_files: Sequence[Path] = (),
) -> RoadNetwork:
    """Keep a copy of an imported SUMO network file (and of the city model's route files, which fit
    demand to counts: apps.simulation.sumo.candidates) and record it under its name (a re-import
    replaces them). Each copy is written beside the old one and renamed into place, so a run reading the
    old file keeps a whole file."""
    if name == CITY:
        raise ValueError(f"{CITY!r} is the stored roads' own network; choose another name")
    folder = Path(settings.MEDIA_ROOT) / "networks" / name
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".net.xml.gz" if path.name.endswith(".gz") else ".net.xml"
    target = folder / f"net{suffix}"
    partial = folder / f".net-{sha256[:12]}{suffix}"
    shutil.copyfile(path, partial)
    partial.replace(target)
    kept_routes = []
    for i, routes in enumerate(route_files):
        kept = folder / f"routes-{i}{''.join(routes.suffixes[-2:]) or '.rou.xml'}"
        shutil.copyfile(routes, folder / f".{kept.name}")
        (folder / f".{kept.name}").replace(kept)
        kept_routes.append(str(kept.relative_to(settings.MEDIA_ROOT)))
    network, _ = RoadNetwork.objects.update_or_create(
        name=name,
        defaults={
            "net_file": str(target.relative_to(settings.MEDIA_ROOT)),
            "sha256": sha256,
            "projection": projection,
            "edges": edges,
            "junctions": junctions,
            "route_files": kept_routes,
        },
    )
    return network
