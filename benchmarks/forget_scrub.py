"""What forgetting a visitor costs in the catalog: the deletion, and the scrub after it.

``scas forget`` deletes the visitor's rows, then removes their bytes from the database's
files (:func:`scas_lib.catalog.scrub.scrub_deleted_rows`: rewrite of the personal tables,
vacuum of the others, WAL switched and checkpointed). One run starts an embedded
PostgreSQL in a new temporary data dir, stores ``--visitors`` visitors of one event with
``--photos`` enrollments each (512-float embeddings), then, for ``--forgets`` visitors in
turn, times:

- ``delete_s``: the ``DELETE`` of the visitor with its cascades (the baseline);
- ``scrub_s``: the scrub after it.

    .venv/bin/python benchmarks/forget_scrub.py [--json] [--visitors 10000] [--photos 2]
        [--forgets 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from scas_lib.catalog import Catalog, upgrade
from scas_lib.catalog.scrub import scrub_deleted_rows
from scas_lib.services import EmbeddedPostgres


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=10_000)
    parser.add_argument("--photos", type=int, default=2)
    parser.add_argument("--forgets", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scas-forget-bench-") as work:
        postgres = EmbeddedPostgres(Path(work))
        with postgres.running():
            url = postgres.url()
            with Catalog.connect(url) as catalog:
                upgrade(catalog.connection)
                catalog.events.ensure("bench")
                catalog.execute(
                    """INSERT INTO visitors (event_id, id, display_name, consent_at,
                                           consent_version, consent_language)
                       SELECT 'bench', 'v-' || i, 'Visitor ' || md5(i::text), now(), 'v1', 'en'
                       FROM generate_series(1, %s) AS i""",
                    (args.visitors,),
                )
                catalog.execute(
                    """INSERT INTO enrollments
                           (event_id, visitor_id, photo_key, model_pack, embedding, quality)
                       SELECT 'bench', 'v-' || i, 'p' || p, 'pack',
                              array_fill(random()::real, ARRAY[512]), 0.9
                       FROM generate_series(1, %s) AS i, generate_series(1, %s) AS p""",
                    (args.visitors, args.photos),
                )
            delete_s, scrub_s = [], []
            for index in range(1, args.forgets + 1):
                with Catalog.connect(url) as catalog:
                    started = time.perf_counter()
                    assert catalog.visitors.delete("bench", f"v-{index}")
                    delete_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                scrub_deleted_rows(url)
                scrub_s.append(time.perf_counter() - started)
    result = {
        "visitors": args.visitors,
        "photos": args.photos,
        "delete_s": round(statistics.median(delete_s), 4),
        "scrub_s": round(statistics.median(scrub_s), 3),
        "scrub_max_s": round(max(scrub_s), 3),
    }
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
