"""Portable schedule -> Cloud Scheduler unix-cron: exact, or rejected with a reason."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.schedule import Cron, Rate, parse_schedule
from providers.gcp.schedule import UnsupportedSchedule, to_unix_cron

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# (low, high, names) per field, as the portable syntax defines them.
SPECS = [(0, 59, []), (0, 23, []), (1, 31, []), (1, 12, MONTHS), (0, 7, DAYS)]


def translate(expression: str) -> str:
    return to_unix_cron(parse_schedule(expression))


def parse_back(text: str) -> Cron:
    parsed = parse_schedule(f"cron({text})")
    assert isinstance(parsed, Cron)
    return parsed


@pytest.mark.parametrize(
    ("portable", "expected"),
    [
        ("cron(0 2 * * *)", "0 2 * * *"),
        ("cron(*/15 9-17 * * 1-5)", "*/15 9-17 * * 1-5"),
        ("cron(0 9 * JAN-MAR MON-FRI)", "0 9 * 1-3 1-5"),
        ("cron(0 9 1,15 * *)", "0 9 1,15 * *"),
        ("cron(5/15 * * * *)", "5-59/15 * * * *"),
        ("cron(0 0 * * 7)", "0 0 * * 0"),
        ("cron(0 0 * * FRI-7)", "0 0 * * 0,5,6"),
        ("cron(0 0 * * */2)", "0 0 * * */2"),
        ("cron(0 0 * * 0/2)", "0 0 * * 0,2,4,6"),
        ("cron(0 0 * * 1-5/2)", "0 0 * * 1-5/2"),
        ("cron(30 4 1 jan sun)", "30 4 1 1 0"),
    ],
)
def test_cron_translates_to_numeric_unix_cron(portable: str, expected: str) -> None:
    assert translate(portable) == expected


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        ("rate(1 minute)", "* * * * *"),
        ("rate(5 minutes)", "*/5 * * * *"),
        ("rate(30 minutes)", "*/30 * * * *"),
        ("rate(1 hour)", "0 * * * *"),
        ("rate(6 hours)", "0 */6 * * *"),
        ("rate(1 day)", "0 0 * * *"),
    ],
)
def test_exact_rates_become_cron(rate: str, expected: str) -> None:
    assert translate(rate) == expected


@pytest.mark.parametrize("rate", ["rate(7 minutes)", "rate(90 minutes)", "rate(5 hours)", "rate(2 days)"])
def test_rates_cron_cannot_repeat_exactly_are_rejected_with_the_options(rate: str) -> None:
    with pytest.raises(UnsupportedSchedule) as caught:
        translate(rate)
    message = str(caught.value)
    assert rate in message
    assert "dividing 60" in message and "dividing 24" in message


@st.composite
def cron_part(draw: st.DrawFn, spec: tuple[int, int, list[str]]) -> str:
    low, high, names = spec

    def token(value: int) -> str:
        # Names exist for months 1-12 and weekdays 0-6; 7 stays a number.
        index = value - low
        usable = names and index < len(names)
        if usable and draw(st.booleans()):
            return names[index]
        return str(value)

    a = draw(st.integers(low, high))
    b = draw(st.integers(a, high))
    step = draw(st.integers(1, high - low + 1))
    kind = draw(st.sampled_from(["*", "*/n", "a", "a-b", "a-b/n", "a/n"]))
    return {
        "*": "*",
        "*/n": f"*/{step}",
        "a": token(a),
        "a-b": f"{token(a)}-{token(b)}",
        "a-b/n": f"{token(a)}-{token(b)}/{step}",
        "a/n": f"{token(a)}/{step}",
    }[kind]


@st.composite
def portable_cron(draw: st.DrawFn) -> str:
    fields = []
    for spec in SPECS:
        parts = draw(st.lists(cron_part(spec), min_size=1, max_size=3))
        fields.append(",".join(parts))
    return "cron(" + " ".join(fields) + ")"


@given(portable_cron())
def test_translated_cron_matches_exactly_the_same_times(expression: str) -> None:
    original = parse_schedule(expression)
    assert isinstance(original, Cron)
    text = translate(expression)
    assert re.fullmatch(r"[0-9*,/ -]+", text), text  # numbers only, no names
    back = parse_back(text)
    for before, after in zip(original.fields, back.fields, strict=True):
        assert before.values() == after.values()
        # '*'-led parts stay '*'-led: the day-of-month/day-of-week OR rule reads them the same.
        assert before.is_wildcard == after.is_wildcard
        assert before.text.startswith("*") == after.text.startswith("*")
        assert starred(before.text) == starred(after.text)
    # Cloud Scheduler documents 0-6 for weekdays: only a '*' part may still span 7.
    for part in back.day_of_week.text.split(","):
        if not part.startswith("*"):
            assert all(int(n) <= 6 for n in re.findall(r"\d+", part.partition("/")[0]))


def starred(text: str) -> list[str]:
    return [part for part in text.split(",") if part.startswith("*")]


def firing_minutes(cron: Cron) -> list[int]:
    """Minutes of the day a daily-periodic cron fires at."""
    return sorted(h * 60 + m for h in cron.hour.values() for m in cron.minute.values())


@given(
    st.integers(1, 3000).flatmap(
        lambda n: st.sampled_from([f"rate({n} minutes)", f"rate({n} hours)", f"rate({n} days)"])
    )
)
def test_a_rate_is_translated_exactly_or_rejected(expression: str) -> None:
    rate = parse_schedule(expression)
    assert isinstance(rate, Rate)
    period = rate.minutes
    exact = (period < 60 and 60 % period == 0) or (period % 60 == 0 and 1440 % period == 0)
    if not exact:
        with pytest.raises(UnsupportedSchedule):
            to_unix_cron(rate)
        return
    back = parse_back(to_unix_cron(rate))
    assert back.day_of_month.is_wildcard and back.month.is_wildcard and back.day_of_week.is_wildcard
    minutes = firing_minutes(back)
    gaps = [b - a for a, b in zip(minutes, [*minutes[1:], minutes[0] + 1440], strict=True)]
    assert set(gaps) == {period}
