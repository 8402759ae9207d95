"""The operator's console on a whole day's catalog: every query of a poll, with its plan.

One run fills a new database on the configured (or embedded) catalog with a day at a big
venue: ``--cameras`` cameras recording ``--hours`` hours of 10 s segments (each recognized,
and pushed by ingest), ``--visitors`` visitors with half their videos made, and face
tracks holding ``--faces`` faces in all (a face every sampled frame, up to 20 a track, of
``--templates`` people, a third of them visitors). Then it polls the console as the page does
(:func:`scas_lib.web.console.console_state`, the same function the API serves),
records every statement the poll sends to PostgreSQL, and runs each again under
``EXPLAIN (ANALYZE, BUFFERS)``:

- ``poll_s``: the median of ``--polls`` whole polls (catalog, object store markers, the
  people-seen counter on unchanged tracks);
- per statement: its execution time with the catalog's indexes and, as the baseline in
  the same run, with index scans turned off (``enable_indexscan``, ``enable_bitmapscan``,
  ``enable_indexonlyscan``), and the scans of its plan (table, kind, index);
- ``people_seen_first_count_s``: the console's people-seen counter
  (:class:`scas_lib.recognition.stage.PeopleSeenCounter`) counting the day for the first
  time (the first poll after the console's server starts);
- ``people_seen_update_s``: the same counter once ``--new-tracks`` tracks came in (a
  segment of each camera, as recognition adds them during the day), counting only those
  against the others, and as the baseline ``people_seen_recount_s``, the same count from
  scratch (:func:`scas_lib.recognition.stage.people_seen`); ``people_seen_update_agrees``
  says whether the two counts are the same.

Goal (issue 28): each statement of a poll under 50 ms at 1,000,000 faces.

The tracks are copies of ``--templates`` tracks stored through the catalog (their
embeddings made up, as benchmarks/headcount.py makes them), spread over the segments by
SQL: a million faces stored one segment at a time would take longer than the day's
queries are worth measuring. Only the amounts and the indexes matter to the plans.

    .venv/bin/python benchmarks/catalog_scale.py [--json] [--faces 1000000] [--cameras 24]
        [--hours 12] [--visitors 2000] [--polls 9] [--new-tracks 24]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
EVENT_ID = "day"
START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SEGMENT_S = 10.0
FACES_PER_TRACK = 20
#: Index scans off: the plan the same statement gets without the catalog's indexes.
WITHOUT_INDEXES = ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan")


@dataclass(frozen=True)
class Statement:
    sql: str  # with its parameters in, as PostgreSQL received it

    @property
    def code(self) -> str:
        """The statement without its comment lines, on one line."""
        lines = [line for line in self.sql.splitlines() if not line.strip().startswith("--")]
        return " ".join(" ".join(lines).split())

    @property
    def reads(self) -> bool:
        """Whether it only reads (what EXPLAIN ANALYZE may run again)."""
        return self.code.upper().startswith(("SELECT", "WITH"))


def fill(services: Any, args: argparse.Namespace) -> dict[str, int]:
    """The day's rows: cameras, visitors and outputs through the catalog, segments and
    tracks copied in SQL from templates stored through it."""
    from headcount import made_up_tracks

    from scas_lib.catalog.records import Output, Visitor
    from scas_lib.events import ConsentText

    consent = ConsentText().agreed("en", START)
    per_camera = round(args.hours * 3600 / SEGMENT_S)
    with services.catalog() as catalog:
        catalog.events.ensure(EVENT_ID)
        for index in range(args.cameras):
            catalog.events.ensure_camera(EVENT_ID, f"cam{index}")
        for index in range(args.visitors):
            catalog.visitors.upsert(
                Visitor(EVENT_ID, f"visitor-{index}", f"Visitor {index}", consent)
            )
            if index % 2 == 0:
                key = f"{EVENT_ID}/visitor-{index}.mp4"
                catalog.outputs.upsert(Output(EVENT_ID, f"visitor-{index}", "done", key))
        # The templates: real rows, as the recognize stage stores them.
        rng = np.random.default_rng(0)
        made = made_up_tracks(args.templates, args.templates, 1, rng)
        template = catalog.segments.register(EVENT_ID, "cam0", f"{EVENT_ID}/template.mp4",
                                             START - timedelta(hours=1), SEGMENT_S)  # fmt: skip
        catalog.segments.mark_processing(template.id)
        stored = [
            replace(track, camera_id="cam0", segment_start=template.start_time, index=index,
                    samples=track.samples[:FACES_PER_TRACK])
            for index, track in enumerate(t for group in made.values() for t in group)
        ]  # fmt: skip
        catalog.segments.save_tracks(template.id, stored, duration_s=SEGMENT_S)
        # As many copies as make --faces (the templates hold 10-20 faces each).
        tracks = round(args.faces * len(stored) / sum(len(t.samples) for t in stored))
        with catalog.connection.cursor() as cur:
            cur.execute(
                """INSERT INTO segments (event_id, camera_id, object_key, start_time,
                       duration_s, status, attempts)
                   SELECT %(event)s, 'cam' || c, %(event)s || '/cam' || c || '/' || k || '.mp4',
                          %(start)s::timestamptz + k * interval '10 seconds', 10, 'done', 1
                   FROM generate_series(0, %(cameras)s - 1) c,
                        generate_series(0, %(per_camera)s - 1) k""",
                {"event": EVENT_ID, "start": START, "cameras": args.cameras,
                 "per_camera": per_camera},
            )  # fmt: skip
            cur.execute(
                """INSERT INTO pushed_segments (object_key, event_id, camera_id, start_time,
                       duration_s)
                   SELECT object_key, event_id, camera_id, start_time, duration_s
                   FROM segments WHERE event_id = %s AND id <> %s""",
                (EVENT_ID, template.id),
            )
            # Each copy: a template's faces and embedding in a segment picked by a hash of
            # its number; every third template (person) is a visitor, all of its copies.
            cur.execute(
                """WITH segs AS (SELECT id, start_time, row_number() OVER (ORDER BY id) AS r
                                 FROM segments WHERE event_id = %(event)s AND id <> %(template)s),
                        templates AS (SELECT t.*, row_number() OVER (ORDER BY id) AS r
                                      FROM tracks t WHERE segment_id = %(template)s)
                   INSERT INTO tracks (segment_id, track_index, event_id, visitor_id,
                       start_time, end_time, similarity, quality, model_pack, centroid, path,
                       frame_width, frame_height)
                   SELECT s.id, n, %(event)s,
                          CASE WHEN t.r %% 3 = 0 THEN 'visitor-' || (t.r / 3) %% %(visitors)s END,
                          s.start_time + (t.start_time - t_start.start_time),
                          s.start_time + (t.end_time - t_start.start_time),
                          t.similarity, t.quality, t.model_pack, t.centroid, t.path,
                          t.frame_width, t.frame_height
                   FROM generate_series(1, %(tracks)s) n
                   JOIN segs s ON s.r = 1 + (n::bigint * 48271) %% (SELECT count(*) FROM segs)
                   JOIN templates t ON t.r = 1 + n %% %(templates)s
                   CROSS JOIN (SELECT start_time FROM segments WHERE id = %(template)s) t_start""",
                {"event": EVENT_ID, "template": template.id, "tracks": tracks,
                 "visitors": args.visitors, "templates": args.templates},
            )  # fmt: skip
            cur.execute("DELETE FROM segments WHERE id = %s", (template.id,))
        catalog.connection.commit()
        with catalog.connection.cursor() as cur:
            cur.execute("SELECT count(*), coalesce(sum(jsonb_array_length(path)), 0) FROM tracks")
            track_rows, faces = cur.fetchone()
            cur.execute("SELECT count(*) FROM segments")
            (segments,) = cur.fetchone()
    analyze(services)
    return {"segments": segments, "tracks": track_rows, "faces": faces}


def add_tracks(services: Any, count: int, args: argparse.Namespace) -> None:
    """``count`` more tracks in a new segment of each camera after the day's last, copies of
    the day's first tracks: what recognition adds as the day goes on."""
    after = START + timedelta(seconds=round(args.hours * 3600 / SEGMENT_S) * SEGMENT_S)
    with services.catalog() as catalog, catalog.connection.cursor() as cur:
        cur.execute(
            """INSERT INTO segments (event_id, camera_id, object_key, start_time, duration_s,
                   status, attempts)
               SELECT %(event)s, 'cam' || c, %(event)s || '/cam' || c || '/late.mp4',
                      %(after)s, 10, 'done', 1
               FROM generate_series(0, %(cameras)s - 1) c""",
            {"event": EVENT_ID, "after": after, "cameras": args.cameras},
        )
        cur.execute(
            """WITH late AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS r
                             FROM segments WHERE event_id = %(event)s AND start_time = %(after)s),
                    first AS (SELECT t.*, row_number() OVER (ORDER BY id) - 1 AS r
                              FROM tracks t WHERE event_id = %(event)s ORDER BY id LIMIT %(n)s)
               INSERT INTO tracks (segment_id, track_index, event_id, visitor_id, start_time,
                   end_time, similarity, quality, model_pack, centroid, path, frame_width,
                   frame_height)
               SELECT late.id, first.r, %(event)s, first.visitor_id,
                      %(after)s, %(after)s + (first.end_time - first.start_time),
                      first.similarity, first.quality, first.model_pack, first.centroid,
                      first.path, first.frame_width, first.frame_height
               FROM first JOIN late ON late.r = first.r %% %(cameras)s""",
            {"event": EVENT_ID, "after": after, "n": count, "cameras": args.cameras},
        )  # fmt: skip
        catalog.connection.commit()


def analyze(services: Any) -> None:
    """Fresh planner statistics, as autovacuum would have them after a day."""
    with services.catalog() as catalog:
        catalog.connection.autocommit = True
        with catalog.connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")


def recorded_poll(services: Any, context: Any) -> tuple[list[Statement], float]:
    """One console poll, every statement it sent, and its seconds."""
    import psycopg2
    import psycopg2.extensions

    from scas_lib.web.console import console_state

    sent: list[Statement] = []

    class RecordingCursor(psycopg2.extensions.cursor):
        def execute(self, query: Any, vars: Any = None) -> Any:
            sent.append(Statement(self.mogrify(query, vars).decode()))
            return super().execute(query, vars)

    connect = psycopg2.connect

    def recording_connect(*args: Any, **kwargs: Any) -> Any:
        return connect(*args, cursor_factory=RecordingCursor, **kwargs)

    psycopg2.connect = recording_connect
    try:
        pool = getattr(context.services, "pool", None)
        if pool is not None:
            pool.close()  # connections opened from now on record
        started = time.perf_counter()
        console_state(context, EVENT_ID)
        took = time.perf_counter() - started
    finally:
        psycopg2.connect = connect
    return sent, took


def plan_of(cursor: Any, statement: Statement) -> dict[str, Any]:
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement.sql)
    return cursor.fetchone()[0][0]


def scans(node: dict[str, Any]) -> list[str]:
    """The plan's scans: ``kind table [index]``."""
    found = []
    if "Scan" in node["Node Type"] and "Relation Name" in node:
        index = f" ({node['Index Name']})" if "Index Name" in node else ""
        found.append(f"{node['Node Type']} on {node['Relation Name']}{index}")
    for child in node.get("Plans", []):
        found += scans(child)
    return found


def explained(services: Any, statements: list[Statement]) -> list[dict[str, Any]]:
    """Each reading statement's time and scans, with the indexes and without."""
    results = []
    with services.catalog() as catalog:
        catalog.connection.autocommit = True
        with catalog.connection.cursor() as cur:
            for statement in statements:
                if not statement.reads:
                    continue
                with_indexes = [plan_of(cur, statement) for _ in range(3)]
                for setting in WITHOUT_INDEXES:
                    cur.execute(f"SET {setting} = off")
                without = [plan_of(cur, statement) for _ in range(3)]
                for setting in WITHOUT_INDEXES:
                    cur.execute(f"RESET {setting}")
                fastest = min(with_indexes, key=lambda plan: plan["Execution Time"])
                results.append(
                    {
                        "sql": statement.code[:160],
                        "ms": round(fastest["Execution Time"], 2),
                        "ms_without_indexes": round(
                            min(plan["Execution Time"] for plan in without), 2
                        ),
                        "rows": fastest["Plan"].get("Actual Rows"),
                        "scans": scans(fastest["Plan"]),
                    }
                )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument("--cameras", type=int, default=24)
    parser.add_argument("--hours", type=float, default=12.0)
    parser.add_argument("--visitors", type=int, default=2000)
    parser.add_argument("--templates", type=int, default=3000, help="people, one track each")
    parser.add_argument("--polls", type=int, default=9)
    parser.add_argument("--new-tracks", type=int, default=24, help="for people_seen_update_s")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from headcount import timed
    from kiosk_load import fresh_servers

    from scas_lib.recognition.stage import people_seen
    from scas_lib.services.runtime import open_services
    from scas_lib.settings import Settings
    from scas_lib.web.console import console_state
    from scas_lib.web.context import WebContext

    with open_services(Settings()) as base:
        services = fresh_servers(base, "scale")
        started = time.perf_counter()
        amounts = fill(services, args)
        fill_s = time.perf_counter() - started
        context = WebContext.ready(services.settings, services)
        counter = context.people_seen
        counter.spacing = 0  # counted again as soon as the tracks change
        _, first_count_s = timed(counter, services, EVENT_ID)
        add_tracks(services, args.new_tracks, args)
        updated, update_s = timed(counter, services, EVENT_ID)
        whole, recount_s = timed(people_seen, services, EVENT_ID)
        polls = [timed(console_state, context, EVENT_ID)[1] for _ in range(args.polls)]
        statements, _ = recorded_poll(services, context)
        plans = explained(services, statements)
    slowest = max(plans, key=lambda plan: plan["ms"])
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cameras": args.cameras,
        "hours": args.hours,
        "visitors": args.visitors,
        **amounts,
        "fill_s": round(fill_s, 1),
        "poll_s": statistics.median(polls),
        "people_seen_first_count_s": first_count_s,
        "people_seen_update_s": update_s,
        "people_seen_recount_s": recount_s,
        "people_seen_update_agrees": updated == whole,
        "people_seen": dataclasses.asdict(whole),
        "statements": plans,
        "slowest_statement_ms": slowest["ms"],
        "slowest_without_indexes_ms": slowest["ms_without_indexes"],
        "every_statement_under_50_ms": all(plan["ms"] < 50 for plan in plans),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for name, value in report.items():
        if name != "statements":
            print(f"{name}: {value}")
    for plan in plans:
        print(f"{plan['ms']:8.2f} ms ({plan['ms_without_indexes']:8.2f} without indexes) "
              f"{plan['sql'][:90]}\n{'':12}{'; '.join(plan['scans'])}")  # fmt: skip


if __name__ == "__main__":
    main()
