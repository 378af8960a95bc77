"""Portable schedule -> EventBridge Scheduler expression.

Scheduler cron has six fields (``min hour dom month dow year``), numbers weekdays 1-7 from
Sunday, and requires ``?`` in exactly one of day-of-month / day-of-week. Classic cron ORs the
two day fields when both are restricted; Scheduler cannot, so that case is rejected.
"""

from __future__ import annotations

from components.schedule import Cron, CronField, Rate, Schedule


class UnsupportedSchedule(ValueError):
    """The portable schedule has no exact Scheduler equivalent."""


def to_scheduler_expression(schedule: Schedule) -> str:
    """``rate(...)`` or ``cron(...)`` in EventBridge Scheduler syntax (UTC)."""
    if isinstance(schedule, Rate):
        unit = schedule.unit[:-1] if schedule.value == 1 else schedule.unit
        return f"rate({schedule.value} {unit})"
    return _cron(schedule)


def _cron(cron: Cron) -> str:
    dom, dow = cron.day_of_month, cron.day_of_week
    if not dom.is_wildcard and not dow.is_wildcard:
        raise UnsupportedSchedule(
            "EventBridge Scheduler cannot restrict both day-of-month and day-of-week "
            "(classic cron ORs them); restrict only one"
        )
    # Exactly one of the two day fields must be '?'; it is the one left unrestricted.
    dom_text = dom.text if dow.is_wildcard else "?"
    dow_text = "?" if dow.is_wildcard else _weekdays(dow)
    return f"cron({cron.minute.text} {cron.hour.text} {dom_text} {cron.month.text} {dow_text} *)"


def _weekdays(field: CronField) -> str:
    """Re-number weekdays from cron's 0-6 (Sunday 0 or 7) to Scheduler's 1-7 (Sunday 1).

    Written as the explicit sorted list, which both syntaxes read the same way.
    """
    return ",".join(str(day + 1) for day in sorted(field.values()))
