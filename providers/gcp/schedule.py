"""Portable schedule -> Cloud Scheduler unix-cron (5 fields, evaluated in ``Etc/UTC``).

Cloud Scheduler reads the same five fields as the portable syntax, so a cron translates
almost verbatim. The rewriting keeps every field's shape (a ``*``-led part stays ``*``-led,
a list stays a list), so the classic "day-of-month OR day-of-week" rule applies exactly as
written; it only removes what a unix-cron parser may read differently:

* month and weekday names become numbers (``MON-FRI`` -> ``1-5``);
* ``a/n`` (a start with a step but no end) becomes the explicit ``a-<max>/n``;
* a weekday part bounded by 7 (Sunday) without ``*`` is written out with 0 for Sunday.

A rate has no cron syntax of its own: ``rate(N unit)`` becomes the cron that fires exactly
every N units when there is one (see :func:`components.schedule.rate_as_cron`), else it is
rejected, because cron restarts its step at each hour/day boundary.
"""

from __future__ import annotations

from components.schedule import Cron, CronField, Rate, Schedule, rate_as_cron


class UnsupportedSchedule(ValueError):
    """The portable schedule has no exact Cloud Scheduler equivalent."""


def to_unix_cron(schedule: Schedule) -> str:
    """The 5-field unix-cron string Cloud Scheduler runs for ``schedule`` (UTC)."""
    if isinstance(schedule, Rate):
        cron = rate_as_cron(schedule)
        if cron is None:
            raise UnsupportedSchedule(
                f"{schedule} cannot be written as a cron schedule: Cloud Scheduler only takes "
                "cron, and cron repeats exactly only for minute periods dividing 60 "
                "(1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 minutes), hour periods dividing 24 "
                "(1, 2, 3, 4, 6, 8, 12 hours) and 1 day; pick one of those or write a cron(...)"
            )
        schedule = cron
    return _cron(schedule)


def _cron(cron: Cron) -> str:
    fields = [_field(field) for field in cron.fields]
    # The weekday field is the last one; only it folds 7 into 0.
    fields[-1] = _weekdays(cron.day_of_week, fields[-1])
    return " ".join(fields)


def _field(field: CronField) -> str:
    return ",".join(_part(part, field) for part in field.text.split(","))


def _part(part: str, field: CronField) -> str:
    base, slash, step = part.partition("/")
    if base == "*":
        return part
    if "-" in base:
        low, _, high = base.partition("-")
        text = f"{_number(low, field)}-{_number(high, field)}"
    elif slash:
        # 'a/n' means 'a-<max>/n' in the portable syntax; say so explicitly.
        text = f"{_number(base, field)}-{field.high}"
    else:
        text = _number(base, field)
    return f"{text}/{step}" if slash else text


def _number(token: str, field: CronField) -> str:
    if token in field.names:
        return str(field.names.index(token) + field.low)
    return str(int(token))


def _weekdays(field: CronField, translated: str) -> str:
    """Write parts bounded by 7 (Sunday) as explicit days, Sunday as 0 (unix-cron's 0-6)."""
    parts = []
    for original, part in zip(field.text.split(","), translated.split(","), strict=True):
        if not part.startswith("*") and 7 in _bounds(part):
            single = CronField(original, field.low, field.high, field.names)
            parts.append(",".join(str(day) for day in sorted(single.values())))
        else:
            parts.append(part)
    return ",".join(parts)


def _bounds(part: str) -> tuple[int, ...]:
    """The numbers a numeric part starts and ends at (its step excluded)."""
    return tuple(int(number) for number in part.partition("/")[0].split("-"))
