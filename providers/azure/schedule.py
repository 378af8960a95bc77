"""Portable schedule -> Azure Functions timer trigger NCRONTAB expression.

NCRONTAB has six fields, ``second minute hour day month day-of-week``; the second is always
``0`` here because the portable syntax has minute resolution. The Flex Consumption plan
accepts only NCRONTAB (a TimeSpan schedule such as ``00:05:00`` needs an App Service plan),
so a ``rate(...)`` must be exactly expressible as cron: minutes dividing 60, hours dividing
24, or one day.

Timer triggers evaluate in UTC, which is what the portable syntax means: ``WEBSITE_TIME_ZONE``
is not supported on Linux Consumption or Flex Consumption, so there is no time zone to set.

NCRONTAB matches a day only when *both* day-of-month and day-of-week match, whereas classic
cron fires when *either* matches once both are restricted; that combination is rejected.

Every field is written out from the set of values it matches (``*``, ``a-b/n``, ranges and
lists), which NCRONTAB and the portable syntax read the same way; weekday ``7`` becomes
``0`` and month and weekday names become numbers.
"""

from __future__ import annotations

from components.schedule import Cron, CronField, Rate, Schedule, rate_as_cron


class UnsupportedSchedule(ValueError):
    """The portable schedule has no exact NCRONTAB equivalent."""


def to_ncrontab(schedule: Schedule) -> str:
    """The 6-field NCRONTAB expression firing exactly when ``schedule`` does (UTC)."""
    if isinstance(schedule, Rate):
        cron = rate_as_cron(schedule)
        if cron is None:
            raise UnsupportedSchedule(
                f"{schedule} is not exactly expressible as an NCRONTAB timer schedule, the only "
                "kind Flex Consumption accepts: use minutes dividing 60 (1, 2, 3, 4, 5, 6, 10, "
                "12, 15, 20, 30), hours dividing 24 (1, 2, 3, 4, 6, 8, 12) or 1 day"
            )
        schedule = cron
    return _ncrontab(schedule)


def _ncrontab(cron: Cron) -> str:
    dom, dow = cron.day_of_month, cron.day_of_week
    if not dom.is_wildcard and not dow.is_wildcard:
        raise UnsupportedSchedule(
            "an Azure timer trigger (NCRONTAB) requires both day-of-month and day-of-week to "
            "match, while cron fires when either matches; restrict only one of them"
        )
    fields = (cron.minute, cron.hour, dom, cron.month, dow)
    return "0 " + " ".join(render_field(field) for field in fields)


def render_field(field: CronField) -> str:
    """The field as ``*``, ``*/n``, ``a-b/n`` or a list of ``a`` / ``a-b`` items."""
    values = sorted(field.values())
    low, high = field.low, 6 if field.names and field.high == 7 else field.high
    if values == list(range(low, high + 1)):
        return "*"
    if len(values) >= 2:
        step = values[1] - values[0]
        if step > 1 and values == list(range(values[0], values[-1] + 1, step)):
            # Two values read better as a list unless the step evenly divides the cycle
            # (``*/30`` minutes, ``*/12`` hours); three or more read better as a step.
            cycle = (high - low + 1) % step == 0 or len(values) >= 3
            if values[0] == low and values[-1] + step > high and cycle:
                return f"*/{step}"
            if len(values) >= 3:
                return f"{values[0]}-{values[-1]}/{step}"
    return ",".join(_runs(values))


def _runs(values: list[int]) -> list[str]:
    """``[1, 2, 3, 7]`` -> ``["1-3", "7"]``."""
    out: list[str] = []
    start = prev = values[0]
    for value in values[1:]:
        if value == prev + 1:
            prev = value
            continue
        out.append(_run(start, prev))
        start = prev = value
    out.append(_run(start, prev))
    return out


def _run(start: int, end: int) -> str:
    if start == end:
        return str(start)
    if end == start + 1:
        return f"{start},{end}"
    return f"{start}-{end}"
