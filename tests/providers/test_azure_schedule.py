"""Portable schedule -> NCRONTAB: exact translations, refusals, and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.schedule import Cron, CronField, Rate, parse_schedule
from providers.azure.schedule import UnsupportedSchedule, render_field, to_ncrontab


@pytest.mark.parametrize(("portable", "ncrontab"), [
    ("rate(1 minute)", "0 * * * * *"),
    ("rate(5 minutes)", "0 */5 * * * *"),
    ("rate(30 minutes)", "0 */30 * * * *"),
    ("rate(1 hour)", "0 0 * * * *"),
    ("rate(60 minutes)", "0 0 * * * *"),
    ("rate(2 hours)", "0 0 */2 * * *"),
    ("rate(12 hours)", "0 0 */12 * * *"),
    ("rate(1 day)", "0 0 0 * * *"),
    ("rate(24 hours)", "0 0 0 * * *"),
    ("cron(0 2 * * *)", "0 0 2 * * *"),
    ("cron(30 9 * * MON-FRI)", "0 30 9 * * 1-5"),
    ("cron(0 12 * * 7)", "0 0 12 * * 0"),
    ("cron(0 12 * * SUN,SAT)", "0 0 12 * * 0,6"),
    ("cron(0 0 1 JAN,JUN *)", "0 0 0 1 1,6 *"),
    ("cron(5/15 * * * *)", "0 5-50/15 * * * *"),
    ("cron(*/1 * * * *)", "0 * * * * *"),
    ("cron(0 0 * * 0-7)", "0 0 0 * * *"),
    ("cron(0,1,2,10 * 1-31 * *)", "0 0-2,10 * * * *"),
    ("cron(0 */5 * */3 *)", "0 0 */5 * */3 *"),
])
def test_translates_exactly(portable: str, ncrontab: str) -> None:
    assert to_ncrontab(parse_schedule(portable)) == ncrontab


@pytest.mark.parametrize(("portable", "reason"), [
    ("rate(7 minutes)", "minutes dividing 60"),
    ("rate(90 minutes)", "minutes dividing 60"),
    ("rate(5 hours)", "hours dividing 24"),
    ("rate(2 days)", "1 day"),
    ("cron(0 0 13 * FRI)", "restrict only one"),
    ("cron(0 0 1-31 * 0-6)", "restrict only one"),
])
def test_refuses_what_ncrontab_cannot_say_exactly(portable: str, reason: str) -> None:
    with pytest.raises(UnsupportedSchedule) as caught:
        to_ncrontab(parse_schedule(portable))
    assert reason in str(caught.value)
    assert isinstance(caught.value, ValueError)


# -- property: a translated cron matches exactly the same values, field by field --------------

_SPECS = {
    "minute": (0, 59, ()),
    "hour": (0, 23, ()),
    "day_of_month": (1, 31, ()),
    "month": (1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    "day_of_week": (0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
}


@st.composite
def _entry(draw: st.DrawFn, low: int, high: int, names: tuple[str, ...]) -> str:
    def token(value: int) -> str:
        if names and draw(st.booleans()):
            index = value - low if names[0] == "JAN" else value
            if 0 <= index < len(names):
                return names[index]
        return str(value)

    kind = draw(st.sampled_from(["star", "step", "one", "range", "range_step", "start_step"]))
    a = draw(st.integers(low, high))
    b = draw(st.integers(a, high))
    n = draw(st.integers(1, high - low + 1))
    return {
        "star": "*",
        "step": f"*/{n}",
        "one": token(a),
        "range": f"{token(a)}-{token(b)}",
        "range_step": f"{token(a)}-{token(b)}/{n}",
        "start_step": f"{a}/{n}",
    }[kind]


@st.composite
def _field(draw: st.DrawFn, name: str) -> str:
    low, high, names = _SPECS[name]
    if draw(st.integers(0, 4)) == 0:
        return "*"
    return ",".join(draw(st.lists(_entry(low, high, names), min_size=1, max_size=4)))


@st.composite
def _portable_cron(draw: st.DrawFn) -> Cron:
    fields = {name: draw(_field(name)) for name in _SPECS}
    # NCRONTAB ANDs the two day fields; the translation is exact only when one is '*'.
    fields[draw(st.sampled_from(["day_of_month", "day_of_week"]))] = "*"
    parsed = parse_schedule("cron(" + " ".join(fields.values()) + ")")
    assert isinstance(parsed, Cron)
    return parsed


@given(_portable_cron())
@settings(max_examples=400, deadline=None)
def test_translated_cron_matches_the_same_values_field_by_field(cron: Cron) -> None:
    ncrontab = to_ncrontab(cron)
    second, *rest = ncrontab.split()
    assert second == "0"
    assert len(rest) == 5
    # Every NCRONTAB field we write is also portable syntax: parse it back and compare.
    back = parse_schedule("cron(" + " ".join(rest) + ")")
    assert isinstance(back, Cron)
    for original, translated in zip(cron.fields, back.fields, strict=True):
        assert translated.values() == original.values()
    assert back.day_of_month.is_wildcard or back.day_of_week.is_wildcard


@given(st.integers(0, 59).flatmap(lambda low: st.sets(st.integers(low, 59), min_size=1)))
def test_rendered_minutes_list_parses_back_to_the_same_set(values: set[int]) -> None:
    field = CronField(",".join(str(v) for v in sorted(values)), 0, 59)
    rendered = render_field(field)
    assert CronField(rendered, 0, 59).values() == frozenset(values)


# -- property: a rate fires exactly every N minutes, or is refused ----------------------------


def _fires(ncrontab: str, start: datetime, minutes: int) -> list[datetime]:
    """Evaluate NCRONTAB (all fields ANDed) minute by minute from ``start``."""
    _, *rest = ncrontab.split()
    cron = parse_schedule("cron(" + " ".join(rest) + ")")
    assert isinstance(cron, Cron)
    minute, hour, dom, month, dow = (f.values() for f in cron.fields)
    out = []
    for offset in range(minutes):
        t = start + timedelta(minutes=offset)
        weekday = (t.weekday() + 1) % 7  # cron: Sunday is 0
        if (t.minute in minute and t.hour in hour and t.day in dom and t.month in month
                and weekday in dow):
            out.append(t)
    return out


def _exact(rate: Rate) -> bool:
    m = rate.minutes
    return (m < 60 and 60 % m == 0) or (m % 60 == 0 and m < 1440 and 24 % (m // 60) == 0) or m == 1440


@given(st.integers(1, 3000), st.sampled_from(["minutes", "hours", "days"]))
@settings(max_examples=200, deadline=None)
def test_a_rate_fires_every_period_or_is_refused(value: int, unit: str) -> None:
    rate = Rate(value, unit)  # type: ignore[arg-type]
    if not _exact(rate):
        with pytest.raises(UnsupportedSchedule):
            to_ncrontab(rate)
        return
    fired = _fires(to_ncrontab(rate), datetime(2024, 2, 27, tzinfo=UTC), 3 * 1440)
    gaps = {(b - a) for a, b in pairwise(fired)}
    assert gaps == {timedelta(minutes=rate.minutes)}
