"""A sweep folder's results as tables, read without the sweep engine (notebook 99 and ``companion sweep collect``)."""

import json
import os
from pathlib import Path

import pandas as pd


def _flatten(record, prefix=""):
    """The scalar entries of a record, nested dicts flattened to ``a.b``; tables (lists) are left out."""
    flat = {}
    for key, value in record.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif not isinstance(value, list):
            flat[f"{prefix}{key}"] = value
    return flat


def collect(out):
    """One tidy row per point: its parameters, status, duration, attempts and every scalar it recorded."""
    rows = []
    for status_path in sorted(Path(out).glob("*/status.json")):
        status = json.loads(status_path.read_text())
        records = list(status_path.parent.glob("*.record.json"))
        record = json.loads(records[0].read_text()) if records and status["state"] == "done" else {}
        claims = {f"verdict:{c['id']}": c["verdict"] for c in record.get("claims", [])}
        rows.append({**status["params"], "status": status["state"], "seconds": status.get("seconds"),
                     "attempts": status["attempts"], "error": status.get("error") or "", "folder": status_path.parent.name,
                     **{k: v for k, v in _flatten(record).items() if not k.startswith("parameters.") and k != "notebook"},
                     **claims})
    return pd.DataFrame(rows)


def collect_table(out, name):
    """Stack the recorded table ``name`` (a list of rows) of every finished point, with the point's parameters
    as columns (``param:<name>`` where the table has a column of that name already)."""
    frames = []
    for status_path in sorted(Path(out).glob("*/status.json")):
        status = json.loads(status_path.read_text())
        records = list(status_path.parent.glob("*.record.json"))
        if status["state"] != "done" or not records:
            continue
        table = json.loads(records[0].read_text()).get(name)
        if isinstance(table, list) and table:
            frame = pd.DataFrame(table)
            frames.append(frame.assign(**{(f"param:{k}" if k in frame else k): str(v) if isinstance(v, list) else v
                                          for k, v in status["params"].items()}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_tables(table, out):
    """``results.csv`` and ``results.parquet`` in ``out`` (each written to a temp file, then renamed)."""
    out = Path(out)
    for suffix, writer in ((".csv", lambda t, p: t.to_csv(p, index=False)),
                           (".parquet", lambda t, p: t.astype({c: str for c in t.columns if t[c].dtype == object})
                            .to_parquet(p, index=False))):
        tmp = out / f".results{suffix}.tmp"
        writer(table, tmp)
        os.replace(tmp, out / f"results{suffix}")
    return out / "results.csv", out / "results.parquet"
