"""Portable schedule -> EventBridge Scheduler expression: examples and an exactness property."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.schedule import Cron, CronField, parse_schedule
from providers.aws.schedule import UnsupportedSchedule, to_scheduler_expression

_AWS_CRON = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$")


def aws(expression: str) -> str:
    return to_scheduler_expression(parse_schedule(expression))


@pytest.mark.parametrize(
    ("portable", "expected"),
    [
        ("rate(1 minute)", "rate(1 minute)"),
        ("rate(1 minutes)", "rate(1 minute)"),
        ("rate(5 minutes)", "rate(5 minutes)"),
        ("rate(1 hour)", "rate(1 hour)"),
        ("rate(2 hours)", "rate(2 hours)"),
        ("rate(1 day)", "rate(1 day)"),
        ("rate(7 days)", "rate(7 days)"),
        ("cron(0 2 * * *)", "cron(0 2 * * ? *)"),
        ("cron(*/15 * * * *)", "cron(*/15 * * * ? *)"),
        ("cron(0 0 1 * *)", "cron(0 0 1 * ? *)"),
        ("cron(30 6 1,15 JAN-MAR *)", "cron(30 6 1,15 JAN-MAR ? *)"),
        ("cron(0 9 * * MON-FRI)", "cron(0 9 ? * 2,3,4,5,6 *)"),
        ("cron(0 9 * * 1-5)", "cron(0 9 ? * 2,3,4,5,6 *)"),
        ("cron(0 0 * * 0)", "cron(0 0 ? * 1 *)"),
        ("cron(0 0 * * 7)", "cron(0 0 ? * 1 *)"),
        ("cron(0 0 * * SUN)", "cron(0 0 ? * 1 *)"),
        ("cron(0 0 * * 0,7)", "cron(0 0 ? * 1 *)"),
        ("cron(0 0 * * SAT)", "cron(0 0 ? * 7 *)"),
        ("cron(0 0 * * MON-WED)", "cron(0 0 ? * 2,3,4 *)"),
        ("cron(0 0 1 JUL *)", "cron(0 0 1 JUL ? *)"),
        ("cron(0 0 * * 5-7)", "cron(0 0 ? * 1,6,7 *)"),
        ("cron(0 12 * 6 */2)", "cron(0 12 ? 6 1,3,5,7 *)"),
    ],
)
def test_portable_schedules_translate_to_scheduler_syntax(portable: str, expected: str) -> None:
    assert aws(portable) == expected


@pytest.mark.parametrize(
    "portable",
    ["cron(0 0 1 * MON)", "cron(0 0 */2 * 1-5)", "cron(0 0 1-31 * 0-6)", "cron(0 0 15 * 7)"],
)
def test_restricting_both_day_fields_is_unsupported(portable: str) -> None:
    with pytest.raises(UnsupportedSchedule, match="day-of-month and day-of-week"):
        aws(portable)


def test_unsupported_schedule_is_a_value_error() -> None:
    assert issubclass(UnsupportedSchedule, ValueError)


# -- property: the translation matches exactly the same minutes, hours, days -------------------

_MINUTE, _HOUR, _DOM, _MONTH, _DOW = (0, 59, ()), (0, 23, ()), (1, 31, ()), (1, 12, "months"), (0, 7, "days")
_MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# Every name, including JUL and WED whose 'L'/'W' once tripped the non-portable-marker check.
_NAMES = {
    "months": {i + 1: n for i, n in enumerate(_MONTH_NAMES)},
    "days": {i: n for i, n in enumerate(_DAY_NAMES)},
}


@st.composite
def _value(draw: st.DrawFn, low: int, high: int, names: str | tuple[()]) -> tuple[int, str]:
    value = draw(st.integers(low, high))
    spelled = _NAMES[names].get(value) if names else None
    if spelled is not None and draw(st.booleans()):
        return value, spelled
    return value, str(value)


@st.composite
def _part(draw: st.DrawFn, spec: tuple[int, int, str | tuple[()]]) -> str:
    low, high, names = spec
    kind = draw(st.sampled_from(["single", "range", "range_step", "star_step", "start_step"]))
    step = draw(st.integers(1, high - low + 1))
    if kind == "star_step":
        return f"*/{step}"
    a, a_text = draw(_value(low, high, names))
    if kind == "single":
        return a_text
    if kind == "start_step":
        return f"{a_text}/{step}"
    _, b_text = draw(_value(a, high, names))
    return f"{a_text}-{b_text}" + (f"/{step}" if kind == "range_step" else "")


@st.composite
def _field(draw: st.DrawFn, spec: tuple[int, int, str | tuple[()]], wildcard: bool | None = None) -> str:
    if wildcard is True or (wildcard is None and draw(st.booleans())):
        return "*"
    return ",".join(draw(st.lists(_part(spec), min_size=1, max_size=3)))


@st.composite
def portable_crons(draw: st.DrawFn) -> str:
    """Valid portable crons restricting at most one of day-of-month / day-of-week."""
    restricted_day = draw(st.sampled_from(["none", "dom", "dow"]))
    fields = [
        draw(_field(_MINUTE)),
        draw(_field(_HOUR)),
        draw(_field(_DOM, wildcard=restricted_day != "dom")),
        draw(_field(_MONTH)),
        draw(_field(_DOW, wildcard=restricted_day != "dow")),
    ]
    return f"cron({' '.join(fields)})"


def _aws_fields(expression: str) -> tuple[str, ...]:
    match = _AWS_CRON.match(expression)
    assert match, f"not a six-field Scheduler cron: {expression}"
    return match.groups()


def _aws_weekdays(text: str) -> frozenset[int]:
    """Scheduler weekdays (1-7 from Sunday) as cron's 0-6 from Sunday."""
    days = {int(token) for token in text.split(",")}
    assert days <= set(range(1, 8)), text
    return frozenset(day - 1 for day in days)


@given(portable_crons())
def test_scheduler_cron_matches_the_same_minutes_hours_days_and_weekdays(expression: str) -> None:
    portable = parse_schedule(expression)
    assert isinstance(portable, Cron)
    minute, hour, dom, month, dow, year = _aws_fields(to_scheduler_expression(portable))

    assert (minute, hour, month) == (portable.minute.text, portable.hour.text, portable.month.text)
    assert year == "*"
    # Exactly one day field is '?': the one the portable cron leaves unrestricted.
    assert [dom, dow].count("?") == 1
    if portable.day_of_week.is_wildcard:
        assert dow == "?"
        assert dom == portable.day_of_month.text
    else:
        assert dom == "?"
        assert portable.day_of_month.is_wildcard
        assert _aws_weekdays(dow) == portable.day_of_week.values()
    # Fields copied verbatim still mean the same values when read with the same ranges.
    for text, field in ((minute, portable.minute), (hour, portable.hour), (month, portable.month)):
        assert CronField(text, field.low, field.high, field.names).values() == field.values()


@given(
    st.tuples(
        _field(_DOM, wildcard=False),
        _field(_DOW, wildcard=False),
    )
)
def test_any_cron_restricting_both_day_fields_is_refused(days: tuple[str, str]) -> None:
    dom, dow = days
    with pytest.raises(UnsupportedSchedule):
        aws(f"cron(0 0 {dom} * {dow})")


@given(st.integers(1, 10_000), st.sampled_from(["minutes", "hours", "days"]))
def test_rates_keep_their_value_and_unit(value: int, unit: str) -> None:
    portable = f"rate({value} {unit})"
    singular = unit[:-1] if value == 1 else unit
    assert aws(portable) == f"rate({value} {singular})"
