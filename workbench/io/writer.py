"""Write canonical frames back to ledger files (CSV or Parquet), exactly and atomically.

Money goes out as exact decimal text (CSV) or ``decimal128`` (Parquet), dates as ISO
``YYYY-MM-DD`` / ``date32``. Every write goes to a temporary file in the target folder
and is renamed into place, so a crash never leaves a half-written file.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..money import format_amount_array, minor_units_array
from ..schema import DATE, DECIMAL, MONEY, TABLES, TIMESTAMP

__all__ = ["to_file_frame", "to_arrow", "write_table", "atomic_path", "atomic_write_text",
           "make_temp_dir", "replace_dir"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_temp_dir(target: Path) -> Path:
    """A temporary folder beside ``target`` (same filesystem, so a rename is atomic), with
    the usual permissions (mkdtemp's are owner-only)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    return tmp


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block ends
    without an exception (the temporary file is removed otherwise)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_dir(tmp: Path, target: Path) -> None:
    """Swap a completed temporary folder into ``target``; the previous folder is moved
    aside first and removed only after the swap, so a crash leaves one of the two."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        import shutil
        shutil.rmtree(old, ignore_errors=True)


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _digits(df: pd.DataFrame) -> np.ndarray:
    return minor_units_array(df["currency"].to_numpy(dtype=object))


def _money_text(s: pd.Series, digits: np.ndarray) -> np.ndarray:
    if s.dtype == object or str(s.dtype) == "Int64":
        na = s.isna().to_numpy()
        vals = s.fillna(0).to_numpy(dtype=np.int64)
        out = format_amount_array(vals, digits)
        out[na] = ""
        return out
    return format_amount_array(s.to_numpy(dtype=np.int64), digits)


def _iso_timestamps(s: pd.Series) -> np.ndarray:
    """UTC timestamps as ISO 8601 text with offset (``2026-03-02T09:00:00+00:00``)."""
    values = s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    text = np.datetime_as_string(values, unit="s").astype(object)
    frac = (values.astype(np.int64) % 1_000_000) != 0
    if frac.any():
        text[frac] = np.datetime_as_string(values[frac], unit="us").astype(object)
    out = text + "+00:00"
    out[np.isnat(values)] = ""
    return out


def minor_to_decimal128(s: pd.Series, digits: np.ndarray, scale: int) -> pa.Array:
    """Integer minor units -> Arrow ``decimal128(38, scale)`` exactly, without text: the
    unscaled value is ``minor * 10**(scale - digits)``, written as 128-bit two's complement."""
    na = s.isna().to_numpy()
    minor = s.fillna(0).to_numpy(dtype=np.int64) if na.any() else s.to_numpy(dtype=np.int64)
    factor = 10 ** (scale - digits.astype(np.int64))
    if np.any(np.abs(minor) > np.iinfo(np.int64).max // np.maximum(factor, 1)):
        raise OverflowError("amount too large for decimal128 conversion")
    unscaled = minor * factor
    words = np.empty((len(unscaled), 2), dtype=np.int64)
    words[:, 0] = unscaled
    words[:, 1] = unscaled >> 63          # sign extension into the high word
    validity = None
    if na.any():
        validity = pa.array(~na).buffers()[1]
    return pa.Array.from_buffers(pa.decimal128(38, scale), len(unscaled),
                                 [validity, pa.py_buffer(words.tobytes())],
                                 null_count=int(na.sum()))


def to_file_frame(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """A canonical frame in its file form: ``amount_minor`` -> ``amount`` as exact decimal
    text, dates ISO, timestamps ISO 8601 with offset. Extra columns are kept."""
    spec = TABLES[name]
    out = {}
    digits = _digits(df) if "currency" in df else None
    for c in spec.columns:
        if c.frame_name not in df:
            continue
        s = df[c.frame_name]
        if c.kind == MONEY:
            out[c.name] = _money_text(s, digits)
        elif c.kind == DATE:
            out[c.name] = s.dt.strftime("%Y-%m-%d").fillna("").to_numpy(dtype=object)
        elif c.kind == TIMESTAMP:
            out[c.name] = _iso_timestamps(s)
        elif c.kind == DECIMAL:
            out[c.name] = s.map(str).to_numpy(dtype=object)
        else:
            out[c.name] = s.astype(object).where(s.notna(), "").to_numpy(dtype=object)
    known = {c.frame_name for c in spec.columns}
    for extra in df.columns:
        if extra not in known:
            out[extra] = df[extra].astype(object).where(df[extra].notna(), "").to_numpy(dtype=object)
    return pd.DataFrame(out, index=df.index)


def to_arrow(df: pd.DataFrame, name: str) -> pa.Table:
    """A canonical frame as an Arrow table for Parquet: money ``decimal128(38, s)`` where s
    is the largest minor-unit count of the table's currencies, dates ``date32``."""
    spec = TABLES[name]
    arrays, names = [], []
    digits = _digits(df) if "currency" in df else None
    scale = int(digits.max()) if digits is not None and len(digits) else 2
    for c in spec.columns:
        if c.frame_name not in df:
            continue
        s = df[c.frame_name]
        if c.kind == MONEY:
            arrays.append(minor_to_decimal128(s, digits, scale))
        elif c.kind == DATE:
            arrays.append(pa.array(s.to_numpy(dtype="datetime64[D]"), type=pa.date32()))
        elif c.kind == DECIMAL:
            arrays.append(pa.array(s.map(str).to_numpy(dtype=object), type=pa.string()))
        elif c.kind == TIMESTAMP:
            arrays.append(pa.array(_iso_timestamps(s), type=pa.string()))
        else:
            arrays.append(pa.array(s))
        names.append(c.name)
    known = {c.frame_name for c in spec.columns}
    for extra in df.columns:
        if extra not in known:
            arrays.append(pa.array(df[extra].astype(str).to_numpy(dtype=object), type=pa.string()))
            names.append(extra)
    return pa.table(arrays, names=names)


def write_table(df: pd.DataFrame, name: str, folder: str | Path, fmt: str = "parquet") -> Path:
    """Write one canonical table to ``folder/<name>.<fmt>`` atomically."""
    folder = Path(folder)
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet'; got {fmt!r}")
    path = folder / f"{name}.{fmt}"
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            pq.write_table(to_arrow(df, name), tmp)
        else:
            frame = to_file_frame(df, name)
            tbl = pa.Table.from_pandas(frame.astype(str), preserve_index=False)
            pacsv.write_csv(tbl, tmp, write_options=pacsv.WriteOptions(
                quoting_style="needed"))
    return path


def write_frame(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a plain (non-canonical) frame by suffix, atomically: .csv or .parquet."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp)
        else:
            df.to_csv(tmp, index=False, lineterminator="\n")
    return path
