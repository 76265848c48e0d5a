"""Reading loop-detector count files: the format from the header, local times to UTC, one record per row.

Two layouts (docs/data.md, "Traffic counts"), detected from the header:
- wide: one row per detector and day, 24 columns `00:00-01:00` ... `23:00-24:00` (what city portals
  publish, e.g. Bologna's open loop counts);
- long: one row per detector and hour: a time (ISO 8601), or a date and an hour, and a count.
Column names are matched case-insensitively; `,`, `;` or tab separated; UTF-8. A reading's time is the START
of the hour it counts, so the 1 h rollup bucket is that hour. Times without an offset are local times in the
city's zone; see _Clock for the two DST days a year."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from .exceptions import ImportFileError
from .report import RowIssue

DETECTOR_COLUMNS = ("detector", "detector_id", "loop", "loop_id", "codice_spira", "sensor")
DATE_COLUMNS = ("date", "data", "day")
HOUR_COLUMNS = ("hour", "ora")
TIME_COLUMNS = ("time", "timestamp", "datetime")
COUNT_COLUMNS = ("count", "vehicle_count", "vehicles", "flow", "conteggio")
EDGE_COLUMNS = ("edge_id", "edge")
GEOPOINT_COLUMNS = ("geopoint",)  # "lat, lon"
LAT_COLUMNS = ("lat", "latitude")
LON_COLUMNS = ("lon", "lng", "longitude")
DIRECTION_COLUMNS = ("direzione", "direction")  # compass letters: N, NE, E, ..., Italian O = west
BEARING_COLUMNS = ("bearing", "heading")  # degrees clockwise from north
# Bologna's `angolo`: degrees COUNTER-clockwise from north (measured: 360 - angolo lies within 45° of
# `direzione` for all 78 of the 85 loops that give both), so read as a bearing only where no direction is.
ANGLE_CCW_COLUMNS = ("angolo",)
NAME_COLUMNS = ("name", "nome via", "street")
_HOUR_COLUMN = re.compile(r"^(\d{2}):00-(\d{2}):00$")
# Italian and English compass points; O (ovest) is west.
COMPASS = {
    "N": 0.0, "NE": 45.0, "E": 90.0, "SE": 135.0, "S": 180.0,
    "SO": 225.0, "SW": 225.0, "O": 270.0, "W": 270.0, "NO": 315.0, "NW": 315.0,
}  # fmt: skip
DETECTOR_ID_MAX = 128  # Sensor.source_id
COUNT_MAX = 10_000  # the catalog's range of vehicle_count (apps/telemetry/catalog.py); checked again there


@dataclass
class Detector:
    """What a row says about its detector (the first row that names it wins)."""

    loop_id: str
    row: int
    lon: float | None = None
    lat: float | None = None
    edge_id: str = ""
    bearing: float | None = None
    name: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class CountRow:
    """One row of the file: its detector and the counts it holds as (UTC hour start, count, field)."""

    row: int
    detector: Detector
    counts: list[tuple[datetime, int, str]]


@dataclass
class CountFile:
    """An open count file: its layout and the rows, read lazily (rows() streams; issues collects)."""

    path: Path
    name: str
    layout: str  # wide | long
    handle: TextIO
    reader: Any  # a csv.reader (its line_num is the line a row ends on)
    columns: dict[str, int]  # lower-cased header -> position
    header: list[str]
    clock: _Clock
    issues: list[RowIssue] = field(default_factory=list)
    hour_columns: list[tuple[int, int, str]] = field(default_factory=list)  # (position, hour, header)
    rejected_rows: int = 0  # rows of which nothing could be read (their issues say why)
    rejected_values: int = 0  # single counts refused in rows otherwise read (a wide file's cells)

    def close(self) -> None:
        self.handle.close()


class _RowError(Exception):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


class _Clock:
    """Local wall-clock hours to UTC in the city's zone. A wide file's day has 24 columns whatever the day:
    - on the day the clocks go forward (a 23-hour day; Europe/Rome: last Sunday of March, 02:00 -> 03:00)
      the hour 02:00-03:00 does not exist: an empty or zero count there is skipped, any other is not
      stored and reported as a warning;
    - on the day they go back (a 25-hour day; last Sunday of October, 03:00 -> 02:00) 02:00-03:00 happens
      twice and has one column: its count is stored at the first of the two hours, with a warning (it may
      hold both hours). In the long layout an ambiguous local hour is the first of the two the first time a
      detector names it and the second the next time (files list the hours in order); give a UTC offset
      in `time` to be explicit."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._days: dict[date, list[tuple[datetime | None, bool]]] = {}

    def day(self, day: date) -> list[tuple[datetime | None, bool]]:
        """Per local hour 0..23: (the UTC start, or None if that hour does not exist; ambiguous?)."""
        hours = self._days.get(day)
        if hours is None:
            hours = [self.hour(datetime(day.year, day.month, day.day, h)) for h in range(24)]  # noqa: DTZ001
            self._days[day] = hours
        return hours

    def hour(self, local: datetime, *, second: bool = False) -> tuple[datetime | None, bool]:
        first = local.replace(tzinfo=self.zone, fold=0)
        later = local.replace(tzinfo=self.zone, fold=1)
        try:
            if first.astimezone(UTC).astimezone(self.zone).replace(tzinfo=None) != local:
                return None, False  # skipped by the clocks going forward
            ambiguous = first.utcoffset() != later.utcoffset()
            return (later if second and ambiguous else first).astimezone(UTC), ambiguous
        except OverflowError:  # year 1 or 9999 pushed past the calendar by the offset
            raise _RowError("*", f"{local:%Y-%m-%d %H:%M} is outside the years 1..9999 in UTC") from None


def _pick(columns: dict[str, int], names: tuple[str, ...]) -> int | None:
    return next((columns[n] for n in names if n in columns), None)


def _header(columns: dict[str, int], position: int) -> str:
    """The column's name (lower-cased: the header is matched case-insensitively)."""
    return next(name for name, i in columns.items() if i == position)


def open_count_file(path: Path, *, name: str, zone: ZoneInfo) -> CountFile:
    """Open the file and read its header; ImportFileError if it is not a count file we can read."""
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - CountFile.close() closes it
        first = handle.readline()
    except UnicodeDecodeError as exc:
        raise ImportFileError(name, f"is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if not first.strip():
        handle.close()
        raise ImportFileError(name, "is empty: a header row is needed")
    delimiter = max(";,\t", key=first.count)
    handle.seek(0)
    reader = csv.reader(handle, delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    columns: dict[str, int] = {}
    for i, h in enumerate(header):
        columns.setdefault(h.lower(), i)
    count_file = CountFile(path, name, "long", handle, reader, columns, header, _Clock(zone))
    hours = [(i, int(m.group(1)), h) for i, h in enumerate(header) if (m := _HOUR_COLUMN.match(h))]
    if hours:
        found = sorted(h for _, h, _ in hours)
        if found != list(range(24)) or any(int(_HOUR_COLUMN.match(h).group(2)) != hour + 1 for _, hour, h in hours):  # type: ignore[union-attr]
            handle.close()
            raise ImportFileError(
                name, "has hourly columns but not exactly the 24 of a day, 00:00-01:00 ... 23:00-24:00"
            )
        count_file.layout = "wide"
        count_file.hour_columns = hours
    missing = []
    if _pick(columns, DETECTOR_COLUMNS) is None:
        missing.append(f"a detector column ({', '.join(DETECTOR_COLUMNS)})")
    if count_file.layout == "wide":
        if _pick(columns, DATE_COLUMNS) is None:
            missing.append(f"a date column ({', '.join(DATE_COLUMNS)})")
    else:
        if _pick(columns, TIME_COLUMNS) is None and (
            _pick(columns, DATE_COLUMNS) is None or _pick(columns, HOUR_COLUMNS) is None
        ):
            missing.append(
                f"a time column ({', '.join(TIME_COLUMNS)}) or a date ({', '.join(DATE_COLUMNS)}) and an hour"
                f" ({', '.join(HOUR_COLUMNS)}) column"
            )
        if _pick(columns, COUNT_COLUMNS) is None:
            missing.append(f"a count column ({', '.join(COUNT_COLUMNS)})")
    if missing:
        handle.close()
        raise ImportFileError(
            name,
            f"is not a loop-count file: no {' and no '.join(missing)}; "
            "expected 24 hourly columns 00:00-01:00 ... 23:00-24:00 (wide) or one count per row (long)",
        )
    return count_file


def parse_date(raw: str, field_name: str) -> date:
    text = raw.strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
    raise _RowError(field_name, f"not a date (dd/mm/yyyy or yyyy-mm-dd): {raw[:40]!r}")


def parse_count(raw: str, field_name: str) -> int | None:
    """A count, or None for an empty cell (no data for that hour: nothing stored, not an error)."""
    text = raw.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _RowError(field_name, f"not a number: {raw[:40]!r}") from None
    if not math.isfinite(value) or value != int(value):
        raise _RowError(field_name, f"not a whole number of vehicles: {raw[:40]!r}")
    if not 0 <= value <= COUNT_MAX:
        raise _RowError(field_name, f"{text} is outside 0..{COUNT_MAX} vehicles per hour")
    return int(value)


def _coordinates(cells: list[str], columns: dict[str, int]) -> tuple[float | None, float | None]:
    """(lon, lat) from `geopoint` ("lat, lon") or lat/lon columns; (None, None) when there are none."""
    geo = _pick(columns, GEOPOINT_COLUMNS)
    lat_i, lon_i = _pick(columns, LAT_COLUMNS), _pick(columns, LON_COLUMNS)
    if geo is not None and cells[geo].strip():
        parts = cells[geo].split(",")
        if len(parts) != 2:
            raise _RowError(_header(columns, geo), f"not 'lat, lon': {cells[geo][:60]!r}")
        field_name, lat_raw, lon_raw = _header(columns, geo), parts[0], parts[1]
    elif lat_i is not None and lon_i is not None and cells[lat_i].strip():
        field_name, lat_raw, lon_raw = _header(columns, lat_i), cells[lat_i], cells[lon_i]
    else:
        return None, None
    try:
        lat, lon = float(lat_raw), float(lon_raw)
    except ValueError:
        raise _RowError(
            field_name, f"not a latitude and longitude: {lat_raw.strip()[:30]!r}, {lon_raw.strip()[:30]!r}"
        ) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _RowError(field_name, f"not a latitude and longitude: {lat}, {lon}")
    return lon, lat


def _bearing(cells: list[str], columns: dict[str, int]) -> float | None:
    i = _pick(columns, DIRECTION_COLUMNS)
    if i is not None and cells[i].strip():
        text = cells[i].strip().upper()
        if text not in COMPASS:
            raise _RowError(_header(columns, i), f"not a compass direction (N, NE, E, ... NO/NW): {cells[i][:20]!r}")
        return COMPASS[text]
    for names, sign in ((BEARING_COLUMNS, 1), (ANGLE_CCW_COLUMNS, -1)):
        i = _pick(columns, names)
        if i is not None and cells[i].strip():
            try:
                value = float(cells[i])
            except ValueError:
                raise _RowError(_header(columns, i), f"not a number of degrees: {cells[i][:20]!r}") from None
            if not math.isfinite(value):
                raise _RowError(_header(columns, i), f"not a number of degrees: {cells[i][:20]!r}")
            return (sign * value) % 360
    return None


def _detector(count_file: CountFile, cells: list[str], row: int, seen: dict[str, Detector]) -> Detector:
    columns = count_file.columns
    detector_i: int = _pick(columns, DETECTOR_COLUMNS)  # type: ignore[assignment]
    loop_id = cells[detector_i].strip()
    if not loop_id:
        raise _RowError(_header(columns, detector_i), "no detector id")
    if len(loop_id) > DETECTOR_ID_MAX:  # a cut id would name another detector
        raise _RowError(
            _header(columns, detector_i), f"a detector id of {len(loop_id)} characters; at most {DETECTOR_ID_MAX}"
        )
    known = seen.get(loop_id)
    if known is not None:
        return known
    lon, lat = _coordinates(cells, columns)
    edge_i, name_i = _pick(columns, EDGE_COLUMNS), _pick(columns, NAME_COLUMNS)
    skip = {i for i, _, _ in count_file.hour_columns} | {
        _pick(columns, names) for names in (DATE_COLUMNS, HOUR_COLUMNS, TIME_COLUMNS, COUNT_COLUMNS)
    }
    tags = {
        h: cells[i].strip()
        for i, h in enumerate(count_file.header)
        if i not in skip and h and not h.lower().startswith("unnamed") and cells[i].strip()
    }
    detector = Detector(
        loop_id=loop_id,
        row=row,
        lon=lon,
        lat=lat,
        edge_id=cells[edge_i].strip() if edge_i is not None else "",
        bearing=_bearing(cells, columns),
        name=cells[name_i].strip()[:255] if name_i is not None else "",
        tags=tags,
    )
    seen[loop_id] = detector
    return detector


def _wide_counts(count_file: CountFile, cells: list[str], row: int, loop_id: str) -> list[tuple[datetime, int, str]]:
    date_i: int = _pick(count_file.columns, DATE_COLUMNS)  # type: ignore[assignment]
    day = parse_date(cells[date_i], _header(count_file.columns, date_i))
    hours = count_file.clock.day(day)
    counts: list[tuple[datetime, int, str]] = []
    bad: list[_RowError] = []
    for position, hour, header in count_file.hour_columns:
        try:
            value = parse_count(cells[position], header)
        except _RowError as exc:
            bad.append(exc)
            continue
        if value is None:
            continue
        start, ambiguous = hours[hour]
        zone = count_file.clock.zone.key
        if start is None:
            if value:
                count_file.issues.append(
                    RowIssue(count_file.name, "", row, loop_id, header,
                             f"{header} does not exist on {day:%d/%m/%Y} in {zone} (the clocks go forward):"
                             f" count {value} not stored", "warning")
                )  # fmt: skip
            continue
        if ambiguous:
            count_file.issues.append(
                RowIssue(count_file.name, "", row, loop_id, header,
                         f"{header} happens twice on {day:%d/%m/%Y} in {zone} (the clocks go back): count {value}"
                         f" stored at the first, {start:%H:%M} UTC", "warning")
            )  # fmt: skip
        counts.append((start, value, header))
    count_file.rejected_values += len(bad)
    for problem in bad:
        count_file.issues.append(RowIssue(count_file.name, "", row, loop_id, problem.field, problem.reason, "rejected"))
    return counts


def _long_time(
    count_file: CountFile, cells: list[str], loop_id: str, folds: dict[tuple[str, datetime], int]
) -> datetime:
    columns = count_file.columns
    time_i = _pick(columns, TIME_COLUMNS)
    if time_i is not None and cells[time_i].strip():
        raw = cells[time_i].strip()
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            raise _RowError(_header(columns, time_i), f"not an ISO 8601 time: {raw[:40]!r}") from None
        if parsed.tzinfo is not None:
            try:
                return parsed.astimezone(UTC)
            except OverflowError:
                raise _RowError(_header(columns, time_i), f"outside the years 1..9999 in UTC: {raw[:40]!r}") from None
        local = parsed
        field_name = _header(columns, time_i)
    else:
        date_i, hour_i = _pick(columns, DATE_COLUMNS), _pick(columns, HOUR_COLUMNS)
        if date_i is None or hour_i is None:
            raise _RowError("time", "no time, and no date and hour")
        day = parse_date(cells[date_i], _header(columns, date_i))
        raw = cells[hour_i].strip()
        match = re.fullmatch(r"(\d{1,2})(?::00(?:-\d{2}:00)?)?", raw)
        if not match or int(match.group(1)) > 23:
            raise _RowError(_header(columns, hour_i), f"not an hour 0..23 (or HH:00, HH:00-HH:00): {raw[:20]!r}")
        local = datetime(day.year, day.month, day.day, int(match.group(1)))  # noqa: DTZ001 - local, zoned below
        field_name = _header(columns, hour_i)
    if local.minute or local.second or local.microsecond:
        raise _RowError(field_name, f"not the start of an hour: {local:%H:%M:%S}")
    key = (loop_id, local)
    second = folds.get(key, 0)
    start, ambiguous = count_file.clock.hour(local, second=second == 1)
    if start is None:
        raise _RowError(
            field_name,
            f"{local:%d/%m/%Y %H:%M} does not exist in {count_file.clock.zone.key} (the clocks go forward)",
        )
    if ambiguous:
        folds[key] = second + 1
    return start


def rows(count_file: CountFile) -> Iterator[CountRow]:
    """The file's rows that can be read, in order; the others become issues on count_file (rejected)."""
    seen: dict[str, Detector] = {}
    folds: dict[tuple[str, datetime], int] = {}
    count_i = _pick(count_file.columns, COUNT_COLUMNS)
    width = len(count_file.header)
    while True:
        try:
            cells = next(count_file.reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over the csv module's limit (128 KiB): the rest is unreadable
            raise ImportFileError(count_file.name, f"line {count_file.reader.line_num} cannot be read: {exc}") from exc
        row = count_file.reader.line_num  # the line the row ends on, as users count (the header is line 1)
        if not any(c.strip() for c in cells):
            continue
        loop_id = ""
        try:
            if len(cells) != width:
                raise _RowError("*", f"has {len(cells)} fields, the header {width}")
            if any("\x00" in c for c in cells):
                raise _RowError("*", "contains a NUL character")
            detector = _detector(count_file, cells, row, seen)
            loop_id = detector.loop_id
            if count_file.layout == "wide":
                counts = _wide_counts(count_file, cells, row, loop_id)
            else:
                when = _long_time(count_file, cells, loop_id, folds)
                value = parse_count(cells[count_i], count_file.header[count_i])  # type: ignore[index]
                counts = [] if value is None else [(when, value, count_file.header[count_i])]  # type: ignore[index]
        except _RowError as exc:
            count_file.rejected_rows += 1
            count_file.issues.append(
                RowIssue(count_file.name, "", row, loop_id or None, exc.field, exc.reason, "rejected")
            )
            continue
        yield CountRow(row, detector, counts)
