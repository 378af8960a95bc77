"""The portable schedule syntax: what parses, what is rejected and why, what a field matches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.schedule import (
    Cron,
    CronField,
    Rate,
    ScheduleError,
    next_fire,
    parse_schedule,
    rate_as_cron,
)

MINUTES_PER_DAY = 1440


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(1 minute)", Rate(1, "minutes")),
        ("rate(1 minutes)", Rate(1, "minutes")),
        ("rate(5 minutes)", Rate(5, "minutes")),
        ("rate(1 hour)", Rate(1, "hours")),
        ("rate(2 hours)", Rate(2, "hours")),
        ("rate(1 day)", Rate(1, "days")),
        ("rate(3 days)", Rate(3, "days")),
        ("  rate( 10 minutes )  ", Rate(10, "minutes")),
    ],
)
def test_rates_parse_to_value_and_plural_unit(expression: str, expected: Rate) -> None:
    assert parse_schedule(expression) == expected


@pytest.mark.parametrize(
    ("expression", "text"),
    [
        ("cron(0 2 * * *)", ("0", "2", "*", "*", "*")),
        ("cron(*/15 * * * *)", ("*/15", "*", "*", "*", "*")),
        ("cron(0 9 * * mon-fri)", ("0", "9", "*", "*", "MON-FRI")),
        ("cron(0 0 1 jan,Feb *)", ("0", "0", "1", "JAN,FEB", "*")),
        ("cron(0-30/10 8-17 * * 1-5)", ("0-30/10", "8-17", "*", "*", "1-5")),
        ("cron(0 0 * * 7)", ("0", "0", "*", "*", "7")),
        ("cron(59 23 31 12 6)", ("59", "23", "31", "12", "6")),
    ],
)
def test_crons_parse_into_five_fields_with_names_upper_cased(expression: str, text: tuple[str, ...]) -> None:
    parsed = parse_schedule(expression)
    assert isinstance(parsed, Cron)
    assert tuple(f.text for f in parsed.fields) == text


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("rate(0 minutes)", "at least 1"),
        ("rate(5 minute)", "plural"),
        ("rate(2 hour)", "plural"),
        ("rate(5 weeks)", "expected 'rate("),
        ("rate(-1 minutes)", "expected 'rate("),
        ("rate(1.5 hours)", "expected 'rate("),
        ("every 5 minutes", "expected 'rate("),
        ("", "expected 'rate("),
        ("cron(0 2 * *)", "5 fields"),
        ("cron(0 2 * * * *)", "got 6"),
        ("cron()", "got 0"),
        ("cron(60 * * * *)", "outside 0-59"),
        ("cron(0 24 * * *)", "outside 0-23"),
        ("cron(0 0 0 * *)", "outside 1-31"),
        ("cron(0 0 32 * *)", "outside 1-31"),
        ("cron(0 0 * 13 *)", "outside 1-12"),
        ("cron(0 0 * 0 *)", "outside 1-12"),
        ("cron(0 0 * * 8)", "outside 0-7"),
        ("cron(0 0 ? * MON)", "not portable"),
        ("cron(0 0 L * *)", "not portable"),
        ("cron(0 0 15W * *)", "not portable"),
        ("cron(0 0 * * MON#2)", "not portable"),
        ("cron(*/0 * * * *)", "step must be a positive number"),
        ("cron(*/x * * * *)", "step must be a positive number"),
        ("cron(30-10 * * * *)", "runs backwards"),
        ("cron(0 0 * * SAT-SUN)", "runs backwards"),
        ("cron(0 0 * * FOO)", "'FOO' is not a number"),
        ("cron(0 0 * MON *)", "'MON' is not a number"),
        ("cron(JAN * * * *)", "'JAN' is not a number"),
        ("cron(0 0 * * -1)", "is not a number"),
    ],
)
def test_non_portable_expressions_are_rejected_with_the_reason(expression: str, reason: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(expression)
    assert reason in str(caught.value)


# Names are resolved before the non-portable markers are looked for: JUL and WED contain 'L'/'W'.
@pytest.mark.parametrize(
    ("expression", "field", "values"),
    [
        ("cron(0 0 1 JUL *)", 3, {7}),
        ("cron(0 9 * * WED)", 4, {3}),
        ("cron(0 9 * * MON-WED)", 4, {1, 2, 3}),
        ("cron(0 0 1 APR-JUL *)", 3, {4, 5, 6, 7}),
    ],
)
def test_month_and_weekday_names_containing_l_or_w_are_accepted(expression: str, field: int, values: set[int]) -> None:
    parsed = parse_schedule(expression)
    assert isinstance(parsed, Cron)
    assert parsed.fields[field].values() == frozenset(values)


def test_an_empty_list_entry_is_rejected() -> None:
    with pytest.raises(ScheduleError, match=r"empty|''"):
        parse_schedule("cron(0,,5 * * * *)")


def test_schedule_error_is_a_value_error() -> None:
    assert issubclass(ScheduleError, ValueError)


def _field(text: str, kind: str) -> CronField:
    """The field of that kind parsed from a cron with ``text`` in its slot."""
    slots = {"minute": 0, "hour": 1, "day_of_month": 2, "month": 3, "day_of_week": 4}
    parts = ["*"] * 5
    parts[slots[kind]] = text
    parsed = parse_schedule(f"cron({' '.join(parts)})")
    assert isinstance(parsed, Cron)
    return parsed.fields[slots[kind]]


@pytest.mark.parametrize(
    ("kind", "text", "values"),
    [
        ("minute", "*", set(range(60))),
        ("minute", "*/15", {0, 15, 30, 45}),
        ("minute", "5/15", {5, 20, 35, 50}),
        ("minute", "1-5", {1, 2, 3, 4, 5}),
        ("minute", "0-30/10", {0, 10, 20, 30}),
        ("minute", "1,3,5", {1, 3, 5}),
        ("minute", "7", {7}),
        ("hour", "*/6", {0, 6, 12, 18}),
        ("hour", "9-17/4,23", {9, 13, 17, 23}),
        ("day_of_month", "*", set(range(1, 32))),
        ("day_of_month", "*/10", {1, 11, 21, 31}),
        ("month", "*/3", {1, 4, 7, 10}),
        ("month", "JAN", {1}),
        ("month", "DEC", {12}),
        ("month", "JAN-MAR", {1, 2, 3}),
        ("month", "FEB,11", {2, 11}),
        ("day_of_week", "*", set(range(7))),
        ("day_of_week", "SUN", {0}),
        ("day_of_week", "0", {0}),
        ("day_of_week", "7", {0}),
        ("day_of_week", "0,7", {0}),
        ("day_of_week", "5-7", {5, 6, 0}),
        ("day_of_week", "MON-FRI", {1, 2, 3, 4, 5}),
        ("day_of_week", "1-7/2", {1, 3, 5, 0}),
        ("day_of_week", "SAT,SUN", {6, 0}),
    ],
)
def test_cron_field_values_are_every_value_it_matches(kind: str, text: str, values: set[int]) -> None:
    assert _field(text, kind).values() == frozenset(values)


def test_only_a_bare_star_counts_as_a_wildcard() -> None:
    assert _field("*", "day_of_month").is_wildcard
    assert not _field("*/1", "day_of_month").is_wildcard
    assert not _field("1-31", "day_of_month").is_wildcard


def test_a_cron_prints_back_as_its_portable_text() -> None:
    assert str(parse_schedule("cron(0 9 * * mon-fri)")) == "cron(0 9 * * MON-FRI)"


@pytest.mark.parametrize(
    ("rate", "minutes", "text"),
    [
        (Rate(1, "minutes"), 1, "rate(1 minute)"),
        (Rate(5, "minutes"), 5, "rate(5 minutes)"),
        (Rate(1, "hours"), 60, "rate(1 hour)"),
        (Rate(2, "hours"), 120, "rate(2 hours)"),
        (Rate(1, "days"), 1440, "rate(1 day)"),
        (Rate(3, "days"), 4320, "rate(3 days)"),
    ],
)
def test_rate_period_and_text(rate: Rate, minutes: int, text: str) -> None:
    assert rate.minutes == minutes
    assert str(rate) == text
    assert parse_schedule(text) == rate


def _daily_firings(cron: Cron) -> list[int]:
    """Minutes after midnight at which an every-day cron fires."""
    for day_field in (cron.day_of_month, cron.month, cron.day_of_week):
        assert day_field.is_wildcard, f"{cron} restricts days; cannot fire every N minutes"
    return sorted(h * 60 + m for h in cron.hour.values() for m in cron.minute.values())


def _is_hour_minute_product(firings: set[int]) -> bool:
    """Whether a set of minutes-of-day is {h*60+m : h in H, m in M} for some H, M."""
    hours = {t // 60 for t in firings}
    minutes = {t % 60 for t in firings}
    return firings == {h * 60 + m for h in hours for m in minutes}


def _assert_rate_as_cron_is_exact(period: int) -> None:
    cron = rate_as_cron(Rate(period, "minutes"))
    evenly = set(range(0, MINUTES_PER_DAY, period))
    expressible = MINUTES_PER_DAY % period == 0 and _is_hour_minute_product(evenly)
    if cron is None:
        # None only when no every-day cron has that period.
        assert not expressible, f"rate({period} minutes) is expressible but got None"
        return
    firings = _daily_firings(cron)
    # Gaps between consecutive firings, including the wrap into the next day, are all N.
    gaps = {b - a for a, b in zip(firings, [*firings[1:], firings[0] + MINUTES_PER_DAY], strict=True)}
    assert gaps == {period}, f"{cron} fires with gaps {sorted(gaps)} for rate({period} minutes)"
    assert firings[0] == 0


def test_rate_as_cron_is_exact_or_none_for_every_period_up_to_2000_minutes() -> None:
    for period in range(1, 2001):
        _assert_rate_as_cron_is_exact(period)


@given(st.integers(min_value=1, max_value=2000))
def test_rate_as_cron_fires_exactly_every_n_minutes_or_is_none(period: int) -> None:
    _assert_rate_as_cron_is_exact(period)


@given(
    st.one_of(
        st.tuples(st.integers(1, 2000), st.just("minutes")),
        st.tuples(st.integers(1, 48), st.just("hours")),
        st.tuples(st.integers(1, 3), st.just("days")),
    )
)
def test_rate_as_cron_depends_only_on_the_period(value_unit: tuple[int, str]) -> None:
    value, unit = value_unit
    rate = Rate(value, unit)  # type: ignore[arg-type]
    assert rate_as_cron(rate) == rate_as_cron(Rate(rate.minutes, "minutes"))


@pytest.mark.parametrize(
    ("rate", "cron"),
    [
        (Rate(1, "minutes"), "cron(* * * * *)"),
        (Rate(15, "minutes"), "cron(*/15 * * * *)"),
        (Rate(1, "hours"), "cron(0 * * * *)"),
        (Rate(6, "hours"), "cron(0 */6 * * *)"),
        (Rate(1, "days"), "cron(0 0 * * *)"),
        (Rate(7, "minutes"), None),
        (Rate(90, "minutes"), None),
        (Rate(5, "hours"), None),
        (Rate(2, "days"), None),
    ],
)
def test_rate_as_cron_examples(rate: Rate, cron: str | None) -> None:
    result = rate_as_cron(rate)
    assert (str(result) if result is not None else None) == cron


# --- next_fire: when the local server fires a schedule -------------------------------------------

NOW = datetime(2026, 11, 23, 10, 0, 30, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(0 2 * * *)", datetime(2026, 11, 24, 2, 0, tzinfo=UTC)),
        ("cron(*/15 * * * *)", datetime(2026, 11, 23, 10, 15, tzinfo=UTC)),
        ("cron(30 4 * * 1-5)", datetime(2026, 11, 24, 4, 30, tzinfo=UTC)),
        ("cron(0 0 1 JAN *)", datetime(2027, 1, 1, 0, 0, tzinfo=UTC)),
        ("cron(0 0 29 2 *)", datetime(2028, 2, 29, 0, 0, tzinfo=UTC)),  # the next leap day
        # Both day fields restricted: either matches (classic cron), so Monday the 30th first.
        ("cron(0 9 1 * MON)", datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),
        ("cron(0 9 1 * SAT)", datetime(2026, 11, 28, 9, 0, tzinfo=UTC)),
        ("cron(0 9 * * 0)", datetime(2026, 11, 29, 9, 0, tzinfo=UTC)),  # 0 is Sunday
    ],
)
def test_next_fire_of_a_cron_is_the_first_matching_minute_after(expression, expected):
    assert next_fire(parse_schedule(expression), NOW) == expected


def test_next_fire_is_strictly_after_even_on_a_matching_minute():
    on_the_minute = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert next_fire(parse_schedule("cron(0 2 * * *)"), on_the_minute) == on_the_minute + timedelta(days=1)


def test_next_fire_of_a_rate_counts_periods_from_its_anchor():
    rate = parse_schedule("rate(5 minutes)")
    assert next_fire(rate, NOW) == NOW + timedelta(minutes=5)
    assert next_fire(rate, NOW + timedelta(minutes=12), anchor=NOW) == NOW + timedelta(minutes=15)
    assert next_fire(rate, NOW + timedelta(minutes=15), anchor=NOW) == NOW + timedelta(minutes=20)


def test_next_fire_needs_an_aware_time_and_a_possible_date():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire(parse_schedule("rate(1 minute)"), datetime(2026, 1, 1))
    with pytest.raises(ScheduleError, match="never fires"):
        next_fire(parse_schedule("cron(0 0 31 2 *)"), NOW)
