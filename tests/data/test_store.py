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
    assert doc["version"] == 1
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


@pytest.mark.parametrize("symbol", ["", "AA PL", "A/B", "../x", "é"])
def test_invalid_symbols(store, make_bars, symbol):
    with pytest.raises(DataError, match="invalid symbol"):
        store.put(make_bars(3), symbol, "1d")


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
