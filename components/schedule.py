"""The one portable schedule syntax: ``rate(N minutes|hours|days)`` and 5-field ``cron(...)``.

Pure standard library (the local runtime uses it too). Each cloud translates a parsed
:data:`Schedule` in its own provider module; this module only knows the portable meaning:

* ``rate(5 minutes)``: every N units, N >= 1 (``minute``/``hour``/``day`` for N == 1 too).
* ``cron(m h dom mon dow)``: classic Unix cron in UTC. Fields accept ``*``, ``*/n``, ``a``,
  ``a-b``, ``a-b/n`` and comma lists; months ``JAN``-``DEC`` and weekdays ``SUN``-``SAT`` by
  name; weekday 0 and 7 are Sunday. Cloud-specific extensions (``?``, ``L``, ``W``, ``#``,
  seconds, years) are rejected because not every cloud has them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

RateUnit = Literal["minutes", "hours", "days"]

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


class ScheduleError(ValueError):
    """The expression is not in the portable syntax; the message says what is wrong."""


@dataclass(frozen=True)
class Rate:
    """Every ``value`` ``unit``."""

    value: int
    unit: RateUnit

    @property
    def minutes(self) -> int:
        """The period in minutes."""
        return self.value * {"minutes": 1, "hours": 60, "days": 1440}[self.unit]

    def __str__(self) -> str:
        unit = self.unit[:-1] if self.value == 1 else self.unit
        return f"rate({self.value} {unit})"


@dataclass(frozen=True)
class CronField:
    """One cron field: its text as written (names upper-cased) and its allowed range."""

    text: str
    low: int
    high: int
    names: tuple[str, ...] = ()

    @property
    def is_wildcard(self) -> bool:
        return self.text == "*"

    def values(self) -> frozenset[int]:
        """Every value the field matches (weekday 7 is folded into 0)."""
        out: set[int] = set()
        for part in self.text.split(","):
            out |= _expand(part, self.low, self.high, self.names)
        if self.names is _DAYS_T and 7 in out:
            out = (out - {7}) | {0}
        return frozenset(out)


_DAYS_T = tuple(_DAYS)
_MONTHS_T = tuple(_MONTHS)


@dataclass(frozen=True)
class Cron:
    """A 5-field Unix cron expression, evaluated in UTC."""

    minute: CronField
    hour: CronField
    day_of_month: CronField
    month: CronField
    day_of_week: CronField

    @property
    def fields(self) -> tuple[CronField, ...]:
        return (self.minute, self.hour, self.day_of_month, self.month, self.day_of_week)

    def __str__(self) -> str:
        return "cron(" + " ".join(f.text for f in self.fields) + ")"


Schedule = Rate | Cron


def parse_schedule(expression: str) -> Schedule:
    """Parse the portable syntax; raise :class:`ScheduleError` with the reason otherwise."""
    text = expression.strip()
    if m := _RATE.match(text):
        value, unit = int(m.group(1)), m.group(2)
        if value < 1:
            raise ScheduleError("a rate must be at least 1")
        if not unit.endswith("s"):
            if value != 1:
                raise ScheduleError(f"write 'rate({value} {unit}s)' (plural) for N > 1")
            unit += "s"
        return Rate(value, unit)  # type: ignore[arg-type]
    if m := _CRON.match(text):
        parts = m.group(1).split()
        if len(parts) != 5:
            raise ScheduleError(f"cron needs 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}")
        specs = [(0, 59, ()), (0, 23, ()), (1, 31, ()), (1, 12, _MONTHS_T), (0, 7, _DAYS_T)]
        fields = []
        for raw, (low, high, names) in zip(parts, specs, strict=True):
            field = CronField(raw.upper(), low, high, names)
            field.values()  # validates
            fields.append(field)
        return Cron(*fields)
    raise ScheduleError("expected 'rate(N minutes|hours|days)' or 'cron(minute hour day-of-month month day-of-week)'")


def rate_as_cron(rate: Rate) -> Cron | None:
    """The 5-field cron that fires exactly every ``rate``, or None when cron cannot say it.

    Cron restarts its step at each hour/day/month boundary, so only periods that divide the
    next unit evenly are exact: minutes dividing 60, hours dividing 24, and one day.
    """
    minutes = rate.minutes
    if minutes < 60 and 60 % minutes == 0:
        text = f"*/{minutes} * * * *" if minutes > 1 else "* * * * *"
    elif minutes % 60 == 0 and minutes < 1440 and 24 % (minutes // 60) == 0:
        hours = minutes // 60
        text = f"0 */{hours} * * *" if hours > 1 else "0 * * * *"
    elif minutes == 1440:
        text = "0 0 * * *"
    else:
        return None
    parsed = parse_schedule(f"cron({text})")
    assert isinstance(parsed, Cron)
    return parsed


def _number(token: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if token in names:
        return names.index(token) + (low if names is _MONTHS_T else 0)
    if not token.isdigit():
        raise ScheduleError(f"'{token}' is not a number or a name this field accepts")
    value = int(token)
    if not low <= value <= high:
        raise ScheduleError(f"{value} is outside {low}-{high}")
    return value


def _expand(part: str, low: int, high: int, names: tuple[str, ...]) -> set[int]:
    if not part:
        raise ScheduleError("empty cron field entry")
    tokens = part.replace("/", "-").split("-")
    # Check tokens, not the raw part: month and weekday names (WED, JUL) contain L and W.
    if any(token not in names and any(c in token for c in "?LW#") for token in tokens):
        raise ScheduleError(f"'{part}': '?', 'L', 'W' and '#' are not portable across clouds")
    base, _, step_text = part.partition("/")
    step = 1
    if step_text:
        if not step_text.isdigit() or int(step_text) < 1:
            raise ScheduleError(f"'{part}': the step must be a positive number")
        step = int(step_text)
    if base == "*":
        start, end = low, high
    elif "-" in base:
        a, _, b = base.partition("-")
        start, end = _number(a, low, high, names), _number(b, low, high, names)
        if start > end:
            raise ScheduleError(f"'{part}': range runs backwards")
    else:
        start = _number(base, low, high, names)
        end = high if step_text else start
    return set(range(start, end + 1, step))


def next_fire(schedule: Schedule, after: datetime, *, anchor: datetime | None = None) -> datetime:
    """When ``schedule`` fires next, strictly after ``after`` (timezone-aware, UTC).

    A rate fires every period counted from ``anchor`` (when the schedule was created; default
    ``after``), as EventBridge Scheduler and Cloud Scheduler count it. A cron fires at the
    first whole minute that matches, with classic cron's day rule: when both day-of-month and
    day-of-week are restricted, a day matching either fires.
    """
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    after = after.astimezone(UTC)
    if isinstance(schedule, Rate):
        start = (anchor or after).astimezone(UTC)
        period = timedelta(minutes=schedule.minutes)
        periods = max(0, (after - start) // period + 1)
        return start + periods * period
    minutes, hours = schedule.minute.values(), schedule.hour.values()
    days, months, weekdays = schedule.day_of_month.values(), schedule.month.values(), schedule.day_of_week.values()
    either_day = not schedule.day_of_month.is_wildcard and not schedule.day_of_week.is_wildcard

    def day_matches(moment: datetime) -> bool:
        in_month, in_week = moment.day in days, (moment.isoweekday() % 7) in weekdays
        return (in_month or in_week) if either_day else (in_month and in_week)

    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    limit = moment + timedelta(days=366 * 5)  # every valid expression fires within 4 years (Feb 29)
    while moment < limit:
        if moment.month not in months:
            moment = (moment.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
        elif not day_matches(moment):
            moment = moment.replace(hour=0, minute=0) + timedelta(days=1)
        elif moment.hour not in hours:
            moment = moment.replace(minute=0) + timedelta(hours=1)
        elif moment.minute not in minutes:
            moment += timedelta(minutes=1)
        else:
            return moment
    raise ScheduleError(f"{schedule} never fires (no date matches it)")
