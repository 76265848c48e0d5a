"""Loading a file into the city: run_import is the one entry point for the CLI (`load_city`) and the
upload page; import_sumo_network for SUMO networks. Both go through load_prepared (the run's life) and
loading.py (one batch of rows).

A run is one transaction: rows are staged with COPY, checked and repaired in PostGIS, then upserted on
their natural key (source, source_id), so a reload updates in place. A failure anywhere rolls the whole
file back and leaves what was stored untouched; --dry-run does all the work, reports, and rolls back.
The ImportRun row (lineage and report) is written outside that transaction, so failures are recorded."""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import DataError, transaction
from django.utils import timezone

from apps.core.data_version import city_data_changed
from apps.core.geo import srid_is_known
from apps.jobs.services import JobCancelled
from apps.roads.networks import register_network

from .checks import fit_to_columns, source_max_length
from .exceptions import ImportFileError
from .loading import GRID_SOURCE_SUFFIX, grid_districts, load_rows
from .mapping import prepare_layer
from .models import ImportRun, ImportState
from .readers import detect_format, read_layers
from .report import MAX_STORED_ISSUES, KindCounts, PreparedRows, RowIssue
from .targets import USER_KINDS

log = logging.getLogger(__name__)

ProgressCallback = Callable[
    [str, float, int], None
]  # (what is happening, steps done (a fraction within one), steps in all)
_TEMP_DIR = re.compile(re.escape(tempfile.gettempdir()) + r"/[^/\s'\"]+/")


@dataclass
class ImportResult:
    run: ImportRun
    counts: dict[str, KindCounts]
    issues: list[RowIssue] = field(default_factory=list)


def _stored(counts: KindCounts | None) -> int:
    return 0 if counts is None else counts.created + counts.updated + counts.unchanged


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_source_name(path: Path) -> str:
    stem = path.name.split(".")[0]
    return re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-")[:48] or "upload"


def _prepare_osm(path: Path, kinds: Iterable[str], progress: Callable[[str], None]) -> list[PreparedRows]:
    from .osm import OsmExtract

    extract = OsmExtract(path)
    try:
        prepared: list[PreparedRows] = []
        if "buildings" in kinds:
            progress("reading OSM buildings")
            prepared.append(extract.buildings())
        if "roads" in kinds:
            progress("building the road graph")
            prepared.extend(extract.road_network())
        if "assets" in kinds:
            progress("reading OSM utility assets")
            prepared.append(extract.assets())
        if "districts" in kinds:
            progress("reading OSM boundaries")
            prepared.append(extract.districts())
        return prepared
    finally:
        extract.close()


Batches = list[tuple[PreparedRows, str]]  # rows and the source they load under


@dataclass
class _Steps:
    """Progress in steps; a reader sets `total` once it knows how many there are. A step is reported as it
    starts (not yet done); `within` moves the bar inside the current step."""

    report: ProgressCallback
    total: int = 3  # reading, one batch, done: until the reader says how many there are
    started: int = 0

    def tick(self, what: str) -> None:
        self.started += 1
        self.report(what, min(self.started - 1, self.total), self.total)

    def within(self, what: str, fraction: float) -> None:
        self.report(what, min(self.started - 1 + fraction, self.total), self.total)

    def finish(self) -> None:
        self.report("done", self.total, self.total)


@dataclass
class _Prepared:
    batches: Batches
    grid_source: str | None = None  # OSM: lay the district grid over this source's buildings if none loaded


def run_import(
    *,
    path: Path,
    display_name: str | None = None,
    kind: str | None = None,
    layer: str | None = None,
    srid: int | None = None,
    dry_run: bool = False,
    replace: bool = False,
    source: str | None = None,
    user: Any = None,
    progress: ProgressCallback | None = None,
    job_id: int | None = None,
) -> ImportResult:
    """Load one file. Raises ImportFileError (after recording the failed run) when the file as a whole
    cannot be loaded; row-level problems are in the result's issues and the run's errors."""
    name = display_name or path.name
    if kind is not None and kind not in USER_KINDS:
        raise ImportFileError(name, f"unknown --kind {kind!r}; choose one of {', '.join(USER_KINDS)}")
    if srid is not None and not srid_is_known(srid):
        raise ImportFileError(name, f"EPSG:{srid} is not a coordinate reference system PostGIS knows")
    fmt = detect_format(path)

    def prepare(steps: _Steps) -> _Prepared:
        if fmt in ("osm_pbf", "osm_xml"):
            kinds = [kind] if kind else list(USER_KINDS[:4])
            steps.total = len(kinds) + 6
            base_source = source or "osm"
            grid = base_source if kind in (None, "districts") else None
            _check_source(f"{base_source}{GRID_SOURCE_SUFFIX}", name)
            return _Prepared([(p, base_source) for p in _prepare_osm(path, kinds, steps.tick)], grid)
        if fmt in ("cityjson", "cityjson_seq"):
            return _prepare_cityjson(
                path, name=name, fmt=fmt, kind=kind, layer=layer, srid=srid, source=source, steps=steps
            )
        steps.tick("reading")
        layers = read_layers(path, layer=layer, srid_override=srid)
        steps.total = len(layers) + 2
        base_source = source or default_source_name(path)
        for lyr in layers:
            if lyr.srid is not None and lyr.srid != srid and not srid_is_known(lyr.srid):
                raise ImportFileError(
                    name, f"layer {lyr.name!r} is in EPSG:{lyr.srid}, which PostGIS does not know; pass --srid"
                )
        # In a file with several layers, each layer is its own source: ids repeat across layers.
        return _Prepared(
            [
                (
                    prepare_layer(lyr, kind=kind, file_name=name),
                    f"{base_source}/{lyr.name}" if len(layers) > 1 else base_source,
                )
                for lyr in layers
            ]
        )

    return load_prepared(
        path=path,
        name=name,
        options={"kind": kind, "layer": layer, "srid": srid, "replace": replace, "format": fmt, "source": source},
        prepare=prepare,
        dry_run=dry_run,
        replace=replace,
        user=user,
        progress=progress,
        job_id=job_id,
    )


def _prepare_cityjson(
    path: Path,
    *,
    name: str,
    fmt: str,
    kind: str | None,
    layer: str | None,
    srid: int | None,
    source: str | None,
    steps: _Steps,
) -> _Prepared:
    from .cityjson import read_cityjson

    if kind not in (None, "buildings"):
        raise ImportFileError(name, f"a CityJSON file holds buildings, not {kind}")
    if layer is not None:
        raise ImportFileError(name, "a CityJSON file has one layer; leave --layer out")
    steps.total = 3
    steps.tick("reading CityJSON")
    rows = read_cityjson(path, label=name, srid_override=srid, seq=fmt == "cityjson_seq")
    if rows.srid != srid and not srid_is_known(rows.srid):
        raise ImportFileError(name, f"its CRS is EPSG:{rows.srid}, which PostGIS does not know; pass --srid")
    return _Prepared([(rows, source or default_source_name(path))])


def import_sumo_network(
    *,
    path: Path,
    name: str | None = None,
    display_name: str | None = None,
    dry_run: bool = False,
    user: Any = None,
    progress: ProgressCallback | None = None,
    route_files: Sequence[Path] = (),
) -> ImportResult:
    """Load a georeferenced SUMO network (apps.imports.sumo_net) as road nodes and segments under the
    source `name` (default: from the file name), keeping the net's junction and edge ids; the file is kept
    to run as is, with the city model's route files when given (candidate routes for counts demand)."""
    from .sumo_net import check_route_file

    for routes in route_files:
        check_route_file(routes)
    from .sumo_net import read_sumo_network

    file_name = display_name or path.name
    source = name or default_source_name(path)

    def prepare(steps: _Steps) -> _Prepared:
        steps.total = 4
        steps.tick("reading the SUMO network")
        nodes, segments = read_sumo_network(path, file_name=file_name)
        return _Prepared([(nodes, source), (segments, source)])

    result = load_prepared(
        path=path,
        name=file_name,
        options={"kind": "roads", "format": "sumo_net", "source": source},
        prepare=prepare,
        dry_run=dry_run,
        user=user,
        progress=progress,
    )
    if not dry_run and result.run.state == ImportState.SUCCEEDED:
        # Kept so that scenarios run the net as is (its signal programs and lane connections), with the
        # stored segments as the map of its edges.
        register_network(
            name=source,
            path=path,
            sha256=result.run.source_sha256 or file_sha256(path),
            edges=_stored(result.counts.get("roads")),
            junctions=_stored(result.counts.get("road_nodes")),
            route_files=route_files,
        )
    return result


def start_run(
    *, path: Path, name: str, options: dict[str, Any], dry_run: bool, user: Any = None, job_id: int | None = None
) -> ImportRun:
    """The lineage row of an import, committed before any work (so a failure is recorded too)."""
    return ImportRun.objects.create(
        created_by=user if getattr(user, "is_authenticated", False) else None,
        state=ImportState.RUNNING,
        started_at=timezone.now(),
        dry_run=dry_run,
        source_name=name,
        source_sha256=file_sha256(path),
        source_size=path.stat().st_size,
        options={**options, **({"job": job_id} if job_id is not None else {})},
    )


def load_prepared(
    *,
    path: Path,
    name: str,
    options: dict[str, Any],
    prepare: Callable[[_Steps], _Prepared],
    dry_run: bool = False,
    replace: bool = False,
    user: Any = None,
    progress: ProgressCallback | None = None,
    job_id: int | None = None,
) -> ImportResult:
    """The life of one import, whatever reads the file: record the run, let `prepare` read the file into
    batches of rows, load them all in one transaction, record the outcome. Any reader's failure is the
    file's (an ImportFileError naming it); the run row is written outside the transaction."""
    steps = _Steps(progress or (lambda what, done, total: None))
    run = start_run(path=path, name=name, options=options, dry_run=dry_run, user=user, job_id=job_id)
    counts: dict[str, KindCounts] = {}
    issues: list[RowIssue] = []
    try:
        try:
            prepared = prepare(steps)
            for _, batch_source in prepared.batches:
                _check_source(batch_source, name)
            batches = [(fit_to_columns(rows, file_name=name), src) for rows, src in prepared.batches]
        except (ImportFileError, JobCancelled):
            raise
        except Exception as exc:
            # A file GDAL, pyosmium, expat or pandas choke on is the file's problem, not a server error;
            # the traceback is logged in case it is ours.
            log.exception("import #%s: reading %s failed", run.pk, name)
            raise ImportFileError(name, f"cannot be read ({type(exc).__name__}: {_first_line(exc)})") from exc
        with transaction.atomic():
            for rows, batch_source in batches:
                label, n = f"loading {rows.target.label.lower()}", len(rows.frame)
                steps.tick(f"{label} ({n} rows)")

                def copied(done: int, label: str = label, n: int = n) -> None:
                    # COPY is most of a step; checking and upserting in PostGIS the rest.
                    steps.within(f"{label}: {done:,} of {n:,} rows staged", 0.8 * done / max(n, 1))

                batch_counts, batch_issues = load_rows(
                    rows, source=batch_source, run=run, file_name=name, replace=replace, copied=copied
                )
                for batch_kind, kind_counts in batch_counts.items():
                    counts.setdefault(batch_kind, KindCounts()).add(kind_counts)
                issues.extend(batch_issues)
            if prepared.grid_source is not None and counts.get("districts", KindCounts()).read == 0:
                steps.tick("laying the district grid")
                counts["districts"] = grid_districts(source=prepared.grid_source, run=run)
            if dry_run:
                transaction.set_rollback(True)
            elif any(c.created or c.updated or c.deleted for c in counts.values()):
                city_data_changed()
        steps.finish()
    except ImportFileError as exc:
        _without_server_paths(exc, path, name)
        _finish(run, state=ImportState.FAILED, counts=counts, issues=issues, message=exc.message)
        raise
    except DataError as exc:
        # A value PostgreSQL refuses that the per-row checks did not catch: the file's data, so a 4xx with
        # PostgreSQL's reason, not a 500; logged, since a check should have caught it.
        log.exception("import #%s of %s: data refused by the database", run.pk, name)
        message = f"{name}: a value does not fit the database ({_first_line(exc)}); nothing was changed"
        _finish(run, state=ImportState.FAILED, counts=counts, issues=issues, message=message)
        raise ImportFileError(name, message.removeprefix(f"{name}: ")) from exc
    except JobCancelled:
        _finish(run, state=ImportState.FAILED, counts=counts, issues=issues, message="cancelled; nothing was changed")
        raise
    except Exception as exc:
        log.exception("import #%s of %s failed", run.pk, name)
        _finish(
            run,
            state=ImportState.FAILED,
            counts=counts,
            issues=issues,
            message=f"internal error ({type(exc).__name__}); nothing was changed",
        )
        raise
    summary = ", ".join(
        f"{k}: {c.created} created, {c.updated} updated, {c.rejected} rejected" for k, c in counts.items()
    )
    _finish(
        run,
        state=ImportState.SUCCEEDED,
        counts=counts,
        issues=issues,
        message=("dry run, nothing written. " if dry_run else "") + summary,
    )
    return ImportResult(run=run, counts=counts, issues=issues)


def _without_server_paths(exc: ImportFileError, path: Path, name: str) -> None:
    """Reader libraries name the files they read: where an upload was saved, or our temporary copies.
    The user knows the file by its name; the server's directories are none of their business."""
    message = exc.message.replace(str(path), name).replace(str(path.parent) + "/", "")
    message = _TEMP_DIR.sub("", message)
    exc.message = message
    exc.args = (message,)


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    return text[:limit] + ("..." if len(text) > limit else "")


def _check_source(source: str, file_name: str) -> None:
    limit = source_max_length()
    if len(source) > limit:
        raise ImportFileError(
            file_name,
            f"the source name {source[:80]!r} is {len(source)} characters long; at most {limit} fit. "
            "Pass a shorter --source (or --layer, for a file with several layers)",
        )


def _finish(run: ImportRun, *, state: str, counts: dict[str, KindCounts], issues: list[RowIssue], message: str) -> None:
    run.state = state
    run.finished_at = timezone.now()
    run.progress = 1.0
    run.counts = {k: vars(c) for k, c in counts.items()}
    run.errors = [i.as_dict() for i in issues[:MAX_STORED_ISSUES]]
    run.message = message
    run.save()
