"""DataStore: Parquet per symbol and timeframe, a manifest of hashes, and tamper detection."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from neurotrade.data import DataStore, StoreEntry
from neurotrade.errors import DataError


@pytest.fixture
def store(tmp_path) -> DataStore:
    return DataStore(tmp_path / "ws")


def test_put_get_round_trip(store, make_bars):
    df = make_bars(40)
    entry = store.put(df, "aapl", "1d", source="aapl.csv")
    assert isinstance(entry, StoreEntry)
    assert (entry.symbol, entry.timeframe, entry.rows, entry.key) == ("AAPL", "1d", 40, "AAPL/1d")
    assert entry.first == "2020-01-02T00:00:00+00:00"
    assert entry.last == "2020-02-10T00:00:00+00:00"
    assert entry.source == "aapl.csv"
    pd.testing.assert_frame_equal(store.get("AAPL", "1d"), df, check_freq=False)
    pd.testing.assert_frame_equal(store.get("aapl"), df, check_freq=False)


def test_layout_and_manifest(store, make_bars, tmp_path):
    entry = store.put(make_bars(10, freq="h"), "btc-usd", "60m", source="feed")
    path = tmp_path / "ws" / "data" / "BTC-USD" / "1h.parquet"
    assert store.path("btc-usd", "1h") == path
    assert path.is_file()
    doc = json.loads((tmp_path / "ws" / "data" / "manifest.json").read_text())
    assert doc["version"] == 2
    (item,) = doc["entries"]
    assert item == {
        "symbol": "BTC-USD",
        "timeframe": "1h",
        "rows": 10,
        "first": "2020-01-02T00:00:00+00:00",
        "last": "2020-01-02T09:00:00+00:00",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "source": "feed",
        "imported_at": entry.imported_at,
        "gap_count": 0,
        "gaps": [],
    }
    assert pd.Timestamp(entry.imported_at).tzinfo is not None
    leftovers = [p.name for p in path.parent.iterdir() if p.name != "1h.parquet"]
    assert leftovers == []  # the temporary file was renamed, not left behind


def test_list_is_sorted_and_put_replaces(store, make_bars):
    assert store.list() == []
    store.put(make_bars(10), "MSFT", "1d")
    store.put(make_bars(10, freq="h"), "AAPL", "1h")
    store.put(make_bars(5), "AAPL", "1d")
    store.put(make_bars(7), "AAPL", "1d", source="again")
    entries = store.list()
    assert [e.key for e in entries] == ["AAPL/1h", "AAPL/1d", "MSFT/1d"]
    assert entries[1].rows == 7
    assert entries[1].source == "again"
    assert len(store.get("AAPL", "1d")) == 7


def test_tampered_file_is_refused(store, make_bars):
    store.put(make_bars(10), "AAPL", "1d")
    other = make_bars(10, seed=1)
    other.to_parquet(store.path("AAPL", "1d"))  # a valid file, but not the one imported
    with pytest.raises(DataError) as info:
        store.get("AAPL", "1d")
    msg = str(info.value)
    assert "AAPL/1d: " in msg
    assert "changed since it was imported" in msg
    assert "neurotrade data import FILE --symbol AAPL --timeframe 1d" in msg


def test_missing_file_is_refused(store, make_bars):
    store.put(make_bars(10), "AAPL", "1d")
    store.path("AAPL", "1d").unlink()
    with pytest.raises(DataError, match=r"the manifest lists .* but the file is missing\. Re-import it"):
        store.get("AAPL")


def test_missing_entry_lists_what_is_stored(store, make_bars):
    with pytest.raises(DataError, match="holds nothing yet"):
        store.get("AAPL")
    store.put(make_bars(10), "AAPL", "1d")
    store.put(make_bars(10), "MSFT", "1d")
    with pytest.raises(DataError) as info:
        store.get("APPL")
    assert "no APPL/1d in the data store. Did you mean 'AAPL/1d'? Stored: AAPL/1d, MSFT/1d." in str(info.value)
    with pytest.raises(DataError, match=r"no AAPL/1h in the data store\. Did you mean 'AAPL/1d'"):
        store.entry("AAPL", "1h")


@pytest.mark.parametrize(
    "symbol",
    ["", " ", ".", "..", "...", "a/b", "../x", "..\\x", "/tmp/x", "C:\\x", "AA PL", "é", ".hidden", "-x", "x" * 65],
)
def test_symbols_that_are_not_one_plain_folder_name_are_refused(store, make_bars, tmp_path, symbol):
    # Regression (issue 9, item 13): '.', '..' and '...' passed the pattern and wrote outside the data folder.
    with pytest.raises(DataError) as info:
        store.put(make_bars(3), symbol, "1d")
    assert str(info.value).startswith(f"invalid symbol {symbol!r}: a symbol starts with a letter or digit")
    with pytest.raises(DataError, match="invalid symbol"):
        store.path(symbol)
    with pytest.raises(DataError, match="invalid symbol"):
        store.get(symbol)
    assert [p.name for p in tmp_path.iterdir()] == []  # nothing written anywhere, not even the store


@pytest.mark.parametrize("symbol", ["AAPL", "brk.b", "BTC-USD", "ES_F", "7203.T", "x" * 64, "1INCH"])
def test_ordinary_symbols_are_kept(store, make_bars, symbol):
    entry = store.put(make_bars(3), symbol, "1d")
    assert entry.symbol == symbol.upper()
    assert store.path(symbol).parent.parent == store.root


def test_gaps_are_found_stored_and_read_back(store):
    hours = pd.date_range("2024-01-01", periods=24 * 21, freq="h", tz="UTC", name="time").as_unit("us")
    bars = pd.DataFrame({"open": 100.0, "high": 101.0, "low": 99.0, "close": 100.5, "volume": 10.0}, index=hours).drop(
        hours[100:130]
    )
    entry = store.put(bars, "BTC", "1h")
    assert entry.gap_count == 1
    (gap,) = entry.gaps
    assert (gap.after, gap.before, gap.missing) == (hours[99], hours[130], 30)
    assert entry.missing_bars == 30
    assert store.entry("BTC", "1h") == entry  # the manifest keeps them
    assert store.put(bars.loc[: hours[99]], "BTC", "1h").gap_count == 0


def test_a_version_1_manifest_is_read_with_gaps_unknown(store, make_bars):
    store.put(make_bars(3), "AAPL", "1d")
    doc = json.loads(store.manifest_path.read_text())
    for item in doc["entries"]:
        del item["gap_count"], item["gaps"]
    doc["version"] = 1
    store.manifest_path.write_text(json.dumps(doc))
    (entry,) = store.list()
    assert entry.gap_count is None and entry.gaps == ()
    assert len(store.get("AAPL")) == 3


def test_a_newer_manifest_asks_for_an_upgrade(store, make_bars):
    store.put(make_bars(3), "AAPL", "1d")
    store.manifest_path.write_text('{"version": 99, "entries": []}')
    with pytest.raises(DataError, match=r"written by a newer neurotrade .* Upgrade neurotrade"):
        store.list()


def test_put_validates_the_frame_and_the_timeframe(store, make_bars):
    bad = make_bars(5)
    bad.iloc[2, 4] = -1.0
    with pytest.raises(DataError, match=r"AAPL/1d: 'volume' is negative at row 2"):
        store.put(bad, "AAPL", "1d")
    with pytest.raises(DataError, match=r"AAPL/1h: the bars are 1d apart \(median spacing\), not 1h"):
        store.put(make_bars(5), "AAPL", "1h")
    with pytest.raises(DataError, match="unknown timeframe"):
        store.put(make_bars(5), "AAPL", "3d")
    with pytest.raises(DataError, match="no bars to store"):
        store.put(make_bars(5).iloc[:0], "AAPL", "1d")
    assert store.list() == []


def test_irregular_bars_keep_the_given_timeframe(store, make_bars):
    df = make_bars(6).iloc[[0, 2, 3, 5]]
    assert store.put(df, "X", "1d").rows == 4


def test_corrupt_manifest(store, make_bars):
    store.put(make_bars(3), "AAPL", "1d")
    store.manifest_path.write_text("{not json")
    with pytest.raises(DataError, match=r"manifest\.json is not valid JSON .* Delete .* and import the data again"):
        store.list()
    store.manifest_path.write_text('{"entries": [{"symbol": "AAPL"}]}')
    with pytest.raises(DataError, match="is not a neurotrade data manifest"):
        store.list()


def test_a_manifest_nested_past_the_parsers_depth_is_a_data_error(tmp_path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "manifest.json").write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(DataError, match="is not valid JSON"):
        DataStore(tmp_path).list()
