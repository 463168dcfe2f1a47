"""DuckDB baseline: the 21 features of the contract for one as-of date, straight from the raw lake.

An independent implementation of ``shared/spec/features.md`` (sections 1-4) in DuckDB SQL,
written from the contract and from the choices ``docs/engine.md`` documents where the contract
is silent (blank ids count as empty, a null ``dt`` is never the event's date, rows without an
``event_id`` are each their own event, null or blank ``declared_topics`` entries are ignored),
not from the Spark code. Only the output column names and types come from
``amp_features.registry``. The decay weight is the contract's ``0.5 ** (age / 14)`` in doubles.

Tables are read as Parquet: for a Delta table (a folder with ``_delta_log/``) the active files
come from delta-rs (``deltalake``), for a Parquet folder from a recursive listing.

    .venv/bin/python bench/bench_duckdb.py --lake /tmp/amp-bench/lake --as-of 2026-11-20 \\
        [--out DIR]   # also write DIR/<group>.parquet
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from amp_features.registry import GROUPS, REGISTRY, table_columns

DUCK_TYPES = {"bigint": "BIGINT", "int": "INTEGER", "double": "DOUBLE", "boolean": "BOOLEAN"}
REQUIRED = {  # contract section 1; other columns are ignored
    "playback": ("event_id", "user_id", "show_id", "started_at", "listen_seconds", "dt"),
    "engagement": ("event_id", "user_id", "event_type", "show_id", "creator_id", "occurred_at",
                   "dt"),
    "shows": ("show_id", "creator_id", "topic"),
    "users": ("user_id", "signup_at", "declared_topics"),
}  # fmt: skip
WINDOW_DAYS, HALF_LIFE_DAYS = 60, 14
# Features whose value the contract makes exact (an integer sum divided once by 60); the other
# doubles are compared within a relative tolerance.
EXACT_DOUBLES = ("listen_minutes_60d",)


def is_delta(path: str | Path) -> bool:
    return (Path(path) / "_delta_log").is_dir()


def table_files(
    path: str | Path, partition: str | None = None, first: Any = None, last: Any = None
) -> list[str]:
    """The Parquet files of a Delta or Parquet table, keeping only partitions ``partition`` in
    [first, last] (ISO dates compared as strings) when given. Paths must be hive-style
    (``col=value/``) for the partition column, as Spark and delta-rs write them."""
    path = Path(path)
    if is_delta(path):
        from deltalake import DeltaTable

        files = [u.removeprefix("file://") for u in DeltaTable(str(path)).file_uris()]
    else:
        files = sorted(str(p) for p in path.rglob("*.parquet") if not p.name.startswith(("_", ".")))
    if partition is not None:
        pattern = re.compile(rf"/{re.escape(partition)}=([^/]*)/")
        kept = []
        for f in files:
            m = pattern.search(f)
            if m is None:
                raise SystemExit(f"{path}: file {f} has no {partition}=... folder in its path")
            value = m.group(1)
            if first is None or str(first) <= value <= str(last):
                kept.append(f)
        files = kept
    return files


def _files_sql(files: list[str], hive: bool) -> str:
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    options = ", hive_partitioning = true" if hive else ", hive_partitioning = false"
    return f"read_parquet([{listed}], union_by_name = true{options})"


def register_parquet(con: Any, view: str, files: list[str], *, hive: bool, what: str) -> None:
    if not files:
        raise SystemExit(f"{what}: no Parquet files to read")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {_files_sql(files, hive)}")


def register_lake(con: Any, lake: str, as_of: dt.date) -> None:
    """Views raw_<table> over the lake (fact tables: only the window's dt partitions)."""
    first = as_of - dt.timedelta(days=WINDOW_DAYS - 1)
    for name, columns in REQUIRED.items():
        path = Path(lake) / name
        if not path.is_dir():
            raise SystemExit(f"table {name}: no folder {path}")
        fact = "dt" in columns
        files = table_files(path, "dt", first, as_of) if fact else table_files(path)
        register_parquet(con, f"raw_{name}", files, hive=fact, what=f"table {name}")
        have = {r[0] for r in con.execute(f"DESCRIBE raw_{name}").fetchall()}
        for column in columns:
            if column not in have:
                raise SystemExit(f"table {name}: missing required column {column}")


def connect(threads: int | None = None, memory_limit: str | None = None) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # timestamps with a zone are read as UTC wall clock
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    return con


def _blank(col: str) -> str:
    return f"({col} IS NULL OR trim({col}) = '')"


def _steps(as_of: dt.date) -> list[str]:
    d = f"DATE '{as_of.isoformat()}'"
    return [
        # -- section 2: valid playback rows, one copy per (dt, event_id) ------------------------
        f"""CREATE OR REPLACE TEMP TABLE plays AS
        WITH raw AS (
            SELECT CAST(event_id AS VARCHAR) AS event_id, CAST(user_id AS VARCHAR) AS user_id,
                   CAST(show_id AS VARCHAR) AS show_id, CAST(started_at AS TIMESTAMP) AS started_at,
                   CAST(listen_seconds AS BIGINT) AS listen_seconds, CAST(dt AS DATE) AS dt
            FROM raw_playback
        ), valid AS (
            SELECT * FROM raw
            WHERE NOT {_blank("user_id")} AND NOT {_blank("show_id")} AND started_at IS NOT NULL
              AND listen_seconds BETWEEN 0 AND 86400
              AND dt IS NOT NULL AND dt = CAST(started_at AS DATE)
        ), kept AS (
            -- the smallest (-listen_seconds, started_at, show_id, user_id): the copy to keep
            SELECT dt, min({{'neg': -listen_seconds, 'at': started_at, 's': show_id,
                             'u': user_id}}) AS k
            FROM valid WHERE event_id IS NOT NULL GROUP BY dt, event_id
        )
        SELECT k.u AS user_id, k.s AS show_id, k.at AS started_at, -k.neg AS listen_seconds, dt
        FROM kept
        UNION ALL
        SELECT user_id, show_id, started_at, listen_seconds, dt FROM valid WHERE event_id IS NULL""",
        # -- section 2: valid engagement rows, one copy per (dt, event_id) ----------------------
        f"""CREATE OR REPLACE TEMP TABLE events AS
        WITH raw AS (
            SELECT CAST(event_id AS VARCHAR) AS event_id, CAST(user_id AS VARCHAR) AS user_id,
                   CAST(event_type AS VARCHAR) AS event_type, CAST(show_id AS VARCHAR) AS show_id,
                   CAST(creator_id AS VARCHAR) AS creator_id,
                   CAST(occurred_at AS TIMESTAMP) AS occurred_at, CAST(dt AS DATE) AS dt
            FROM raw_engagement
        )
        SELECT user_id, event_type, show_id, creator_id, dt FROM raw
        WHERE NOT {_blank("user_id")} AND occurred_at IS NOT NULL
          AND dt IS NOT NULL AND dt = CAST(occurred_at AS DATE)
          AND ((event_type IN ('like_show', 'enable_notification') AND NOT {_blank("show_id")})
               OR (event_type = 'follow_creator' AND NOT {_blank("creator_id")}))
        QUALIFY event_id IS NULL OR row_number() OVER (
            PARTITION BY dt, event_id
            ORDER BY occurred_at, event_type NULLS FIRST, show_id NULLS FIRST,
                     creator_id NULLS FIRST, user_id NULLS FIRST) = 1""",
        # -- dimensions: blank creator/topic is unknown ------------------------------------------
        """CREATE OR REPLACE TEMP TABLE show_dim AS
        SELECT CAST(show_id AS VARCHAR) AS show_id,
               CASE WHEN trim(creator_id) <> '' THEN CAST(creator_id AS VARCHAR) END AS creator_id,
               CASE WHEN trim(topic) <> '' THEN CAST(topic AS VARCHAR) END AS topic
        FROM raw_shows WHERE show_id IS NOT NULL""",
        # plays with their show's attributes, UTC hour and decayed seconds (section 3)
        f"""CREATE OR REPLACE TEMP TABLE p AS
        SELECT p.user_id, p.show_id, p.listen_seconds, p.dt, s.creator_id, s.topic,
               hour(p.started_at) AS hr,
               p.listen_seconds * pow(0.5, ({d} - p.dt) / {HALF_LIFE_DAYS}.0) AS wsec
        FROM plays p LEFT JOIN show_dim s ON p.show_id = s.show_id""",
        # -- user (features 1-12) ----------------------------------------------------------------
        f"""CREATE OR REPLACE TEMP TABLE duck_user AS
        WITH play AS (
            SELECT user_id, count(*) AS sessions, sum(listen_seconds) AS secs,
                   count(*) FILTER (WHERE listen_seconds >= 300) AS long_sessions,
                   count(DISTINCT dt) AS active_days, count(DISTINCT show_id) AS shows,
                   count(DISTINCT creator_id) AS creators, max(dt) AS last_dt
            FROM p GROUP BY user_id
        ), hours AS (
            SELECT user_id, hr, sum(listen_seconds) AS secs FROM p GROUP BY user_id, hr
        ), pref AS (
            -- the most listened hour; ties to the lowest hour
            SELECT user_id, arg_min(hr, [-secs, hr]) AS hr FROM hours GROUP BY user_id
        ), eng AS (
            SELECT user_id,
                   count(*) FILTER (WHERE event_type = 'like_show') AS likes,
                   count(*) FILTER (WHERE event_type = 'follow_creator') AS follows,
                   count(*) FILTER (WHERE event_type = 'enable_notification') AS notifications
            FROM events GROUP BY user_id
        ), ids AS (SELECT user_id FROM play UNION SELECT user_id FROM eng),
        users AS (SELECT CAST(user_id AS VARCHAR) AS user_id, signup_at FROM raw_users)
        SELECT i.user_id,
               coalesce(play.sessions, 0) AS sessions_60d,
               coalesce(CAST(play.secs AS DOUBLE), 0.0) / 60.0 AS listen_minutes_60d,
               coalesce(play.long_sessions, 0) AS long_sessions_60d,
               coalesce(play.active_days, 0) AS active_days_60d,
               coalesce(play.shows, 0) AS distinct_shows_60d,
               coalesce(play.creators, 0) AS distinct_creators_60d,
               coalesce(eng.likes, 0) AS likes_60d,
               coalesce(eng.follows, 0) AS follows_60d,
               coalesce(eng.notifications, 0) AS notifications_enabled_60d,
               {d} - play.last_dt AS days_since_last_listen,
               pref.hr AS preferred_hour_utc,
               {d} - CAST(CAST(u.signup_at AS TIMESTAMP) AS DATE) AS tenure_days
        FROM ids i
        LEFT JOIN play ON play.user_id = i.user_id
        LEFT JOIN pref ON pref.user_id = i.user_id
        LEFT JOIN eng ON eng.user_id = i.user_id
        LEFT JOIN users u ON u.user_id = i.user_id""",
        # -- show (13-16), orphans included ----------------------------------------------------
        """CREATE OR REPLACE TEMP TABLE duck_show AS
        WITH play AS (
            SELECT show_id, count(*) AS plays, count(DISTINCT user_id) AS listeners,
                   sum(listen_seconds) AS secs
            FROM p GROUP BY show_id
        ), likes AS (
            SELECT show_id, count(*) AS likes FROM events WHERE event_type = 'like_show'
            GROUP BY show_id
        )
        SELECT coalesce(play.show_id, likes.show_id) AS show_id,
               coalesce(play.plays, 0) AS show_plays_60d,
               coalesce(play.listeners, 0) AS show_unique_listeners_60d,
               coalesce(likes.likes, 0) AS show_likes_60d,
               CASE WHEN play.plays > 0 THEN (CAST(play.secs AS DOUBLE) / 60.0) / play.plays
               END AS show_avg_listen_minutes_60d
        FROM play FULL OUTER JOIN likes ON play.show_id = likes.show_id""",
        # -- creator (17-18) -------------------------------------------------------------------
        """CREATE OR REPLACE TEMP TABLE duck_creator AS
        WITH play AS (
            SELECT creator_id, count(*) AS plays FROM p WHERE creator_id IS NOT NULL
            GROUP BY creator_id
        ), follows AS (
            SELECT creator_id, count(*) AS follows FROM events
            WHERE event_type = 'follow_creator' GROUP BY creator_id
        )
        SELECT coalesce(play.creator_id, follows.creator_id) AS creator_id,
               coalesce(play.plays, 0) AS creator_plays_60d,
               coalesce(follows.follows, 0) AS creator_new_follows_60d
        FROM play FULL OUTER JOIN follows ON play.creator_id = follows.creator_id""",
        # -- user_topic (19-20): played topics plus every user's declared topics ----------------
        """CREATE OR REPLACE TEMP TABLE duck_user_topic AS
        WITH num AS (
            SELECT user_id, topic, sum(wsec) AS num FROM p WHERE topic IS NOT NULL
            GROUP BY user_id, topic
        ), den AS (
            SELECT user_id, sum(wsec) AS den FROM p WHERE topic IS NOT NULL GROUP BY user_id
        ), declared AS (
            SELECT DISTINCT user_id, topic FROM (
                SELECT CAST(user_id AS VARCHAR) AS user_id, unnest(declared_topics) AS topic
                FROM raw_users WHERE user_id IS NOT NULL)
            WHERE topic IS NOT NULL AND trim(CAST(topic AS VARCHAR)) <> ''
        ), keys AS (
            SELECT coalesce(num.user_id, declared.user_id) AS user_id,
                   coalesce(num.topic, declared.topic) AS topic, num.num,
                   declared.user_id IS NOT NULL AS topic_declared
            FROM num FULL OUTER JOIN declared
              ON num.user_id = declared.user_id AND num.topic = declared.topic
        )
        SELECT keys.user_id, keys.topic,
               CASE WHEN coalesce(keys.num, 0) = 0 OR coalesce(den.den, 0) = 0 THEN 0.0
                    ELSE keys.num / den.den END AS topic_affinity,
               keys.topic_declared
        FROM keys LEFT JOIN den ON den.user_id = keys.user_id""",
        # -- user_creator (21): played creators plus followed creators --------------------------
        """CREATE OR REPLACE TEMP TABLE duck_user_creator AS
        WITH num AS (
            SELECT user_id, creator_id, sum(wsec) AS num FROM p WHERE creator_id IS NOT NULL
            GROUP BY user_id, creator_id
        ), den AS (
            SELECT user_id, sum(wsec) AS den FROM p WHERE creator_id IS NOT NULL GROUP BY user_id
        ), followed AS (
            SELECT DISTINCT user_id, creator_id FROM events WHERE event_type = 'follow_creator'
        ), keys AS (
            SELECT coalesce(num.user_id, followed.user_id) AS user_id,
                   coalesce(num.creator_id, followed.creator_id) AS creator_id, num.num
            FROM num FULL OUTER JOIN followed
              ON num.user_id = followed.user_id AND num.creator_id = followed.creator_id
        )
        SELECT keys.user_id, keys.creator_id,
               CASE WHEN coalesce(keys.num, 0) = 0 OR coalesce(den.den, 0) = 0 THEN 0.0
                    ELSE keys.num / den.den END AS creator_affinity
        FROM keys LEFT JOIN den ON den.user_id = keys.user_id""",
    ]


def _typed(group: str, as_of: dt.date) -> str:
    """The group's table with the registry's column order and types."""
    cols = []
    for name in table_columns(group):
        if name == "as_of":
            cols.append(f"DATE '{as_of.isoformat()}' AS as_of")
        elif name in REGISTRY:
            cols.append(f"CAST({name} AS {DUCK_TYPES[REGISTRY[name].dtype]}) AS {name}")
        else:
            cols.append(f"CAST({name} AS VARCHAR) AS {name}")
    return (
        f"CREATE OR REPLACE TEMP TABLE duck_{group} AS SELECT {', '.join(cols)} FROM duck_{group}"
    )


def check_dimensions(con: Any) -> None:
    """A repeated key in shows or users is a broken table (contract section 1)."""
    for table, key in (("shows", "show_id"), ("users", "user_id")):
        row = con.execute(
            f"SELECT {key}, count(*) FROM raw_{table} WHERE {key} IS NOT NULL "
            f"GROUP BY {key} HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
        if row is not None:
            raise SystemExit(f"table {table}: {key} {row[0]!r} appears {row[1]} times")


def compute(con: Any, lake: str, as_of: dt.date) -> dict[str, int]:
    """Creates the tables duck_<group> in ``con``; returns rows per group."""
    register_lake(con, lake, as_of)
    check_dimensions(con)
    for sql in _steps(as_of):
        con.execute(sql)
    for group in GROUPS:
        con.execute(_typed(group, as_of))
    return {g: con.execute(f"SELECT count(*) FROM duck_{g}").fetchone()[0] for g in GROUPS}


def write_parquet(con: Any, out: str | Path) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for group in GROUPS:
        target = str(out / f"{group}.parquet").replace("'", "''")
        con.execute(f"COPY duck_{group} TO '{target}' (FORMAT parquet)")


def window_counts(con: Any) -> dict[str, int]:
    """Raw rows of the window's partitions and valid, deduplicated events (after compute)."""
    q = {
        "playback_rows_read": "SELECT count(*) FROM raw_playback",
        "playback_events_kept": "SELECT count(*) FROM plays",
        "engagement_rows_read": "SELECT count(*) FROM raw_engagement",
        "engagement_events_kept": "SELECT count(*) FROM events",
        "users_with_plays": "SELECT count(DISTINCT user_id) FROM plays",
        "user_show_pairs": "SELECT count(*) FROM (SELECT DISTINCT user_id, show_id FROM plays)",
    }
    return {k: con.execute(sql).fetchone()[0] for k, sql in q.items()}


# --- comparing with another engine's output ------------------------------------------------------
def register_feature_table(con: Any, view: str, table_path: str | Path, as_of: dt.date) -> None:
    """A view over one as_of partition of a Delta (or Parquet) feature table."""
    files = table_files(table_path, "as_of", as_of, as_of)
    register_parquet(con, view, files, hive=True, what=str(table_path))


def compare(con: Any, group: str, left: str, right: str, rel_tol: float = 1e-9) -> dict:
    """Row-for-row comparison of two views of one group, on the group's keys: rows only on one
    side, and per feature the rows whose values differ (integers and booleans exactly, the
    EXACT_DOUBLES exactly, other doubles beyond ``rel_tol`` relative), plus how many doubles are
    not bit-identical and the largest relative difference."""
    keys = GROUPS[group].keys
    on = " AND ".join(f"l.{k} = r.{k}" for k in keys)
    feats = [f for f in table_columns(group) if f in REGISTRY]
    exprs = [
        f"count(*) FILTER (WHERE r.{keys[0]} IS NULL) AS only_left",
        f"count(*) FILTER (WHERE l.{keys[0]} IS NULL) AS only_right",
        "count(*) FILTER (WHERE l.as_of IS DISTINCT FROM r.as_of "
        f"AND l.{keys[0]} IS NOT NULL AND r.{keys[0]} IS NOT NULL) AS as_of_differs",
    ]
    for f in feats:
        both = f"l.{keys[0]} IS NOT NULL AND r.{keys[0]} IS NOT NULL"
        a, b = f"l.{f}", f"r.{f}"
        if REGISTRY[f].dtype == "double":
            tol = 0.0 if f in EXACT_DOUBLES else rel_tol
            bad = (
                f"({a} IS NULL) <> ({b} IS NULL) OR "
                f"abs({a} - {b}) > {tol!r} * greatest(abs({a}), abs({b}))"
            )
            exprs.append(f"count(*) FILTER (WHERE {both} AND ({bad})) AS {f}")
            exprs.append(
                f"count(*) FILTER (WHERE {both} AND {a} IS DISTINCT FROM {b}) AS {f}__not_bitwise"
            )
            exprs.append(
                f"coalesce(max(abs({a} - {b}) / nullif(greatest(abs({a}), abs({b})), 0))"
                f" FILTER (WHERE {both}), 0.0) AS {f}__max_rel"
            )
        else:
            exprs.append(f"count(*) FILTER (WHERE {both} AND {a} IS DISTINCT FROM {b}) AS {f}")
    row = con.execute(
        f"SELECT count(l.{keys[0]}), count(r.{keys[0]}), {', '.join(exprs)} "
        f"FROM {left} l FULL OUTER JOIN {right} r ON {on}"
    ).fetchone()
    names = ["rows_left", "rows_right", "only_left", "only_right", "as_of_differs"]
    for f in feats:
        names += [f, f"{f}__not_bitwise", f"{f}__max_rel"] if REGISTRY[f].dtype == "double" else [f]
    out = dict(zip(names, row, strict=True))
    mismatching = ["only_left", "only_right", "as_of_differs", *feats]
    out["agree"] = all(out[k] == 0 for k in mismatching)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--out", help="write <group>.parquet files here")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    parser.add_argument("--memory-limit", help="DuckDB memory limit, e.g. 8GB")
    args = parser.parse_args(argv)
    as_of = dt.date.fromisoformat(args.as_of)
    con = connect(args.threads, args.memory_limit)
    t0 = time.perf_counter()
    rows = compute(con, args.lake, as_of)
    if args.out:
        write_parquet(con, args.out)
    seconds = time.perf_counter() - t0
    out = {"as_of": args.as_of, "seconds": round(seconds, 2), "rows": rows}
    print(json.dumps({**out, **window_counts(con)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
