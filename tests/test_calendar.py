"""Working-day calendar: official 2026 data, vectorised wd/add_wd against a naive reference, user files."""
from __future__ import annotations

import datetime as dt

import chinese_calendar
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.calendar import Calendar
from checker.errors import CalendarError, InputError

D = dt.date

# rules.md "Conventions", 2026
HOLIDAYS_2026 = ["01-01", "01-02", "02-16", "02-17", "02-18", "02-19", "02-20", "02-23", "04-06", "05-01",
                 "05-04", "05-05", "06-19", "09-25", "10-01", "10-02", "10-05", "10-06", "10-07"]
MAKEUP_2026 = ["01-04", "02-14", "02-28", "05-09", "09-20", "10-10"]


@pytest.fixture(scope="module")
def cal() -> Calendar:
    return Calendar.load()


def _d(md: str, year: int = 2026) -> dt.date:
    m, d = md.split("-")
    return D(year, int(m), int(d))


@pytest.mark.parametrize("md", HOLIDAYS_2026)
def test_2026_weekday_holidays_are_off(cal, md):
    day = _d(md)
    assert day.weekday() < 5
    assert cal.is_workday(day) is False


@pytest.mark.parametrize("md", MAKEUP_2026)
def test_2026_makeup_weekends_are_on(cal, md):
    day = _d(md)
    assert day.weekday() >= 5
    assert cal.is_workday(day) is True


def test_2026_every_other_day_follows_weekends(cal):
    days = pd.Series(pd.date_range("2026-01-01", "2026-12-31", freq="D"))
    got = cal.is_workday(days)
    special = {_d(x) for x in HOLIDAYS_2026} | {_d(x) for x in MAKEUP_2026}
    exp = [(d.date() in {_d(x) for x in MAKEUP_2026}) if d.date() in special else d.weekday() < 5
           for d in days]
    assert got.tolist() == exp
    assert int(got.sum()) == 261 - 19 + 6  # weekdays − weekday holidays + make-up days


def test_wd_convention_examples(cal):
    # National Day 2026: 09-30 (Wed) -> 10-08 is the first working day after it
    assert cal.wd(D(2026, 9, 30), D(2026, 10, 8)) == 1
    assert cal.add_wd(D(2026, 9, 30), 1) == D(2026, 10, 8)
    # 10-10 is a Saturday make-up day
    assert cal.wd(D(2026, 10, 9), D(2026, 10, 10)) == 1
    assert cal.wd(D(2026, 10, 10), D(2026, 10, 9)) == -1
    assert cal.wd(D(2026, 10, 9), D(2026, 10, 9)) == 0
    # the event day is not counted; the action day is
    assert cal.wd(D(2026, 11, 2), D(2026, 11, 3)) == 1
    assert cal.add_wd(D(2026, 11, 2), 0) == D(2026, 11, 2)
    assert cal.add_wd(D(2026, 2, 13), 1) == D(2026, 2, 14)   # Fri -> Sat make-up day
    assert cal.add_wd(D(2026, 2, 14), 1) == D(2026, 2, 24)   # across the Spring Festival


def test_series_datetimes_nat_and_types(cal):
    a = pd.Series(pd.to_datetime(["2026-01-01 08:30", None, "2026-10-09 23:59:59", "2026-03-02"],
                                 format="mixed"),
                  index=[10, 11, 12, 13])
    b = pd.Series(pd.to_datetime(["2026-01-31", "2026-01-05", "2026-10-01", None]), index=[10, 11, 12, 13])
    r = cal.wd(a, b)
    assert str(r.dtype) == "Int64"
    assert list(r.index) == [10, 11, 12, 13]
    assert r.iloc[0] == 21 and r.iloc[2] == -2
    assert r.isna().tolist() == [False, True, False, True]
    # scalar against a Series broadcasts
    r2 = cal.wd(a, D(2026, 1, 5))
    assert r2.iloc[0] == 2 and pd.isna(r2.iloc[1])   # 01-04 (Sun, make-up) and 01-05
    # add_wd keeps the index, gives midnight datetimes, NaT through
    s = cal.add_wd(a, 1)
    assert s.dtype == "datetime64[ns]"
    assert s.iloc[0] == pd.Timestamp("2026-01-04") and pd.isna(s.iloc[1])
    assert list(s.index) == [10, 11, 12, 13]
    assert cal.add_wd(pd.Timestamp("2026-09-30 13:00"), 2) == pd.Timestamp("2026-10-09")
    assert pd.isna(cal.wd(None, D(2026, 1, 1)))
    assert pd.isna(cal.add_wd(pd.NaT, 3))
    wd_ = cal.is_workday(a)
    assert str(wd_.dtype) == "boolean" and pd.isna(wd_.iloc[1])


def test_bundled_matches_chinese_calendar(cal):
    days = pd.date_range("2004-01-01", "2026-12-31", freq="D")
    got = cal.is_workday(pd.Series(days)).to_numpy(dtype=bool)
    exp = np.array([chinese_calendar.is_workday(d.date()) for d in days])
    assert (got == exp).all()
    assert cal.covered_years() == list(range(2004, 2027))


_days = st.dates(min_value=D(2004, 1, 1), max_value=D(2026, 12, 31))


def _naive_wd(a: dt.date, b: dt.date) -> int:
    if b < a:
        return -_naive_wd(b, a)
    n, d = 0, a
    while d < b:
        d += dt.timedelta(days=1)
        n += chinese_calendar.is_workday(d)
    return n


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_days, _days), min_size=1, max_size=20))
def test_wd_equals_naive_reference(cal, pairs):
    # keep the naive loop short: pairs spanning at most ~3 years
    pairs = [(a, b) for a, b in pairs if abs((b - a).days) < 1100] or [(D(2026, 1, 1), D(2026, 2, 1))]
    a = pd.Series(pd.to_datetime([p[0] for p in pairs]))
    b = pd.Series(pd.to_datetime([p[1] for p in pairs]))
    got = cal.wd(a, b).tolist()
    assert got == [_naive_wd(x, y) for x, y in pairs]
    assert cal.wd(pairs[0][0], pairs[0][1]) == got[0]


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=D(2004, 1, 1), max_value=D(2026, 9, 30)), st.integers(0, 40))
def test_add_wd_roundtrip_and_lands_on_workday(cal, d, n):
    r = cal.add_wd(d, n)
    assert isinstance(r, dt.date)
    assert cal.wd(d, r) == n
    if n > 0:
        assert cal.is_workday(r) is True
        assert cal.wd(d, r - dt.timedelta(days=1)) == n - 1   # the first such day
    s = cal.add_wd(pd.Series(pd.to_datetime([d, d])), pd.Series([n, 0]))
    assert s.iloc[0] == pd.Timestamp(r) and s.iloc[1] == pd.Timestamp(d)


# ------------------------------------------------------------------ uncovered years and user files
def test_2027_without_user_file_raises_naming_2027(cal):
    with pytest.raises(CalendarError, match="2027") as ei:
        cal.wd(D(2026, 12, 20), D(2027, 1, 10))
    assert "工作日历文件" in str(ei.value) and ei.value.field == "工作日历文件"
    from checker.errors import cli_text
    assert cli_text(ei.value).endswith("（命令行选项 --calendar）")
    with pytest.raises(CalendarError, match="2027"):
        cal.add_wd(D(2026, 12, 28), 10)   # runs into 2027
    with pytest.raises(CalendarError, match="2027"):
        cal.is_workday(pd.Series(pd.to_datetime(["2026-05-01", "2027-05-01"])))
    with pytest.raises(CalendarError, match="2003"):
        cal.wd(pd.Series(pd.to_datetime(["2003-12-01"])), D(2004, 1, 5))
    # NaT alone never triggers it
    assert cal.wd(pd.Series([pd.NaT]), pd.Series([pd.Timestamp("2026-01-05")])).isna().all()


CAL_2027 = """日期,类型,名称
2027-01-01,节假日,元旦
2027/2/6,休息日,春节
2027-02-08,节假日,春节
2027-02-09,节假日,春节
2027-02-10,节假日,春节
2027-02-11,节假日,春节
2027-02-12,节假日,春节
2027年2月20日,调休上班,春节调休
20270221,工作日,春节调休
"""


def test_user_csv_covers_2027_gb18030(tmp_path):
    p = tmp_path / "2027年日历.csv"
    p.write_bytes(CAL_2027.encode("gb18030"))
    cal = Calendar.load(str(p))
    assert cal.covered_years() == list(range(2004, 2028))
    assert cal.is_workday(D(2027, 2, 8)) is False          # listed holiday on a Monday
    assert cal.is_workday(D(2027, 2, 20)) is True           # Saturday make-up day
    assert cal.is_workday(D(2027, 2, 21)) is True
    assert cal.is_workday(D(2027, 3, 6)) is False           # unlisted Saturday
    assert cal.is_workday(D(2027, 3, 8)) is True            # unlisted Monday
    # 2027-02-05 (Fri): 02-06 listed off, 02-07 Sunday, 02-08..12 holidays -> 02-15 (Mon)
    assert cal.add_wd(D(2027, 2, 5), 1) == D(2027, 2, 15)
    assert cal.wd(D(2026, 12, 31), D(2027, 1, 4)) == 1      # 01-01 off, 01-02/03 weekend, 01-04 Mon
    with pytest.raises(CalendarError, match="2028"):
        cal.wd(D(2027, 12, 1), D(2028, 1, 10))


def test_user_xlsx_and_override_of_bundled_year(tmp_path):
    p = tmp_path / "cal.xlsx"
    pd.DataFrame({"日期": pd.to_datetime(["2026-11-02", "2027-01-01"]), "类型": ["假日", "节假日"],
                  "名称": ["临时放假", "元旦"]}).to_excel(p, index=False, sheet_name="日历")
    cal = Calendar.load(str(p))
    assert cal.is_workday(D(2026, 11, 2)) is False     # user row overrides the bundled data
    assert cal.is_workday(D(2026, 10, 10)) is True      # bundled make-up day still there
    assert cal.is_workday(D(2027, 1, 4)) is True


def test_gap_year_raises(tmp_path):
    p = tmp_path / "cal.csv"
    p.write_text("日期,类型\n2029-01-01,节假日\n", encoding="utf-8")
    cal = Calendar.load(str(p))
    assert cal.covered_years()[-1] == 2029 and 2027 not in cal.covered_years()
    assert cal.is_workday(D(2029, 1, 2)) is True
    with pytest.raises(CalendarError, match="2027、2028"):
        cal.wd(D(2026, 12, 1), D(2029, 1, 5))


@pytest.mark.parametrize("content, match", [
    ("日期,类型\n2027-01-01,节假日\n2027-13-01,节假日\n", r"第 3 行.*列「日期」"),
    ("日期,类型\n2027-01-01,调休\n", r"第 2 行.*列「类型」.*调休上班"),
    ("日期,种类\n2027-01-01,节假日\n", r"缺少列「类型」"),
    ("日期,类型\n", r"没有任何日期"),
    ("", r"空"),
    ("日期,类型\n2027-01-01,节假日\n2027-01-01,工作日\n", r"2027-01-01.*矛盾"),
])
def test_bad_user_file_names_file_and_row(tmp_path, content, match):
    p = tmp_path / "bad.csv"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=match) as ei:
        Calendar.load(str(p))
    assert "bad.csv" in str(ei.value)


def test_missing_user_file(tmp_path):
    with pytest.raises(InputError, match="不存在"):
        Calendar.load(str(tmp_path / "nope.csv"))
