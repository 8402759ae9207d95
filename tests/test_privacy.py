"""Privacy on the real parts: who can read SCAS's files, and what ``forget`` leaves behind.

The embedded servers run in a data directory of their own here, so that every file they
write can be looked at: read as the unprivileged user ``nobody``, and searched for a
visitor's bytes after the visitor is forgotten.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scas_lib.catalog import Catalog, Visitor, upgrade
from scas_lib.faces.engine import FaceEngine
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.services import EmbeddedPostgres, EmbeddedSeaweedFS, Services
from scas_lib.services.scratch import SEGMENT_PREFIX, render_prefix, scratch_dir
from scas_lib.settings import Settings
from scas_lib.storage import keys
from scas_lib.visitors.stage import enroll_visitor, forget_visitor

from .conftest import CONSENT

_AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="reading as another user needs root")

# Run as `nobody` by the system Python (the test's own may live in a folder nobody can
# enter): tries to open every path given on stdin, prints those it could.
_TRY_READ = """
import os, sys
for path in sys.stdin.read().split("\\0"):
    if not path:
        continue
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            with open(path, "rb") as file:
                file.read(1)
        print(path)
    except OSError:
        pass
"""


def readable_by_nobody(paths: list[Path]) -> list[str]:
    """The paths the user ``nobody`` can read (a file) or list (a folder), tried for real."""
    result = subprocess.run(
        ["runuser", "-u", "nobody", "--", "/usr/bin/python3", "-c", _TRY_READ],
        input="\0".join(str(path) for path in paths),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.splitlines()


def everything_under(root: Path) -> list[Path]:
    return [root, *root.rglob("*")]


@dataclass
class PrivateServers:
    parent: Path
    data_dir: Path
    services: Services
    seaweed: EmbeddedSeaweedFS


@pytest.fixture(scope="module")
def private_servers() -> Iterator[PrivateServers]:
    """Both embedded servers in a data dir whose parent anyone may enter (as /var/lib is),
    so only SCAS's own permissions keep others out."""
    parent = Path(tempfile.mkdtemp(prefix="scas-privacy-", dir="/tmp"))
    parent.chmod(0o755)
    data_dir = parent / "data"
    postgres, seaweed = EmbeddedPostgres(data_dir), EmbeddedSeaweedFS(data_dir)
    try:
        with postgres.running(), seaweed.running():
            settings = Settings(
                data_dir=data_dir,
                bucket_recordings="recordings",
                bucket_enrollments="enrollments",
                bucket_highlights="highlights",
            )
            services = Services(settings, postgres.url(), seaweed.s3_config(), seaweed.master())
            with services.catalog() as catalog:
                upgrade(catalog.connection)
            for bucket in services.buckets:
                services.object_store().ensure_bucket(bucket)
            yield PrivateServers(parent, data_dir, services, seaweed)
    finally:
        shutil.rmtree(parent, ignore_errors=True)


@_AS_ROOT
def test_nobody_reads_no_file_of_the_data_dir(
    private_servers: PrivateServers, photos: dict[str, SamplePhoto]
) -> None:
    services, data_dir = private_servers.services, private_servers.data_dir
    photo = next(iter(photos.values())).path.read_bytes()
    key = keys.enrollment_photo_key("expo", "v-private", 0)
    services.object_store().put_bytes(services.settings.bucket_enrollments, key, photo)
    with services.catalog() as catalog:
        catalog.events.ensure("expo")
        catalog.visitors.upsert(Visitor("expo", "v-private", "Private Person", CONSENT))

    # the test means something: nobody can enter the parent, and the photo is on disk
    assert readable_by_nobody([private_servers.parent]) == [str(private_servers.parent)]
    files = everything_under(data_dir)
    assert any(photo in path.read_bytes() for path in files if path.is_file())

    assert readable_by_nobody(files) == []
    assert stat.S_IMODE(private_servers.parent.stat().st_mode) == 0o755
    assert stat.S_IMODE(data_dir.stat().st_mode) & 0o007 == 0
    for path in files:
        # weed writes a new volume's format file (.vif: version, replication) 0644 whatever
        # the umask; SCAS narrows it at the next start, and the folders keep it from others.
        if path.is_file() and not path.is_symlink() and path.suffix != ".vif":
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    # and the catalog still works, run by its own system user
    with Catalog.connect(services.database_url) as catalog:
        assert catalog.visitors.get("expo", "v-private") is not None


# scratch folders -------------------------------------------------------------------------

_HOLD_SCRATCH = """
import sys, time
from pathlib import Path
from scas_lib.services.scratch import scratch_dir
with scratch_dir(Path(sys.argv[1]), sys.argv[2]) as folder:
    (folder / "clip.mp4").write_bytes(b"footage of the visitor")
    print(folder, flush=True)
    time.sleep(600)
"""


def hold_scratch(data_dir: Path, prefix: str) -> tuple[subprocess.Popen[str], Path]:
    """A real task (a child process) that holds a scratch folder until it is killed."""
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLD_SCRATCH, str(data_dir), prefix],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert child.stdout is not None
    return child, Path(child.stdout.readline().strip())


@pytest.mark.programs
def test_a_killed_tasks_scratch_folder_is_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    killed, stale = hold_scratch(data_dir, SEGMENT_PREFIX)
    alive, live = hold_scratch(data_dir, render_prefix("expo", "v-other"))
    try:
        assert stale.parent == data_dir / "tmp" and stale.is_dir() and live.is_dir()
        assert stat.S_IMODE(stale.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(stale.stat().st_mode) == 0o700
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert stale.is_dir()  # a killed task cleans nothing up itself

        with scratch_dir(data_dir, SEGMENT_PREFIX) as mine:
            assert not stale.exists()
            assert live.is_dir() and mine.is_dir()
        assert not mine.exists()
    finally:
        alive.kill()
        alive.wait()


# forget ------------------------------------------------------------------------------------


def files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_forget_leaves_nothing_of_the_visitor(
    private_servers: PrivateServers, engine: FaceEngine, photos: dict[str, SamplePhoto]
) -> None:
    services, data_dir = private_servers.services, private_servers.data_dir
    settings = services.settings
    store = services.object_store()
    person = next(p for p in photos.values() if p.group_size == 1)
    enrolled = enroll_visitor(
        services, engine, consent=CONSENT, event_id="expo", display_name="Zyxw Forgettable",
        photos=[person.path.read_bytes()], visitor_id="v-forget",
    )  # fmt: skip
    stored = store.get_bytes(settings.bucket_enrollments, enrolled.photo_keys[0])
    video = os.urandom(200_000)  # stands in for the rendered video
    store.put_bytes(settings.bucket_highlights, keys.highlight_key("expo", "v-forget"), video)
    killed, stale = hold_scratch(data_dir, render_prefix("expo", "v-forget"))
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    # Renders of others running now: a visitor whose id starts the same, and a visitor of
    # another event with the same id.
    others = [hold_scratch(data_dir, render_prefix(*owner))
              for owner in (("expo", "v-forget-2"), ("fair", "v-forget"))]  # fmt: skip
    store.put_bytes(settings.bucket_enrollments, "expo/v-keep/0.jpg", b"someone else")
    assert files_containing(data_dir / "seaweedfs", stored[1000:1400])  # on disk before

    result = forget_visitor(services, "expo", "v-forget")

    assert result.objects_deleted == 2 and result.catalog_rows
    with services.catalog() as catalog:
        assert catalog.visitors.get("expo", "v-forget") is None
        enrollments = catalog.visitors.enrollments("expo", enrolled.model_pack)
        assert [e for e in enrollments if e.visitor_id == "v-forget"] == []
    for bucket in services.buckets:
        assert [o.key for o in store.list(bucket) if "v-forget" in o.key] == []
    assert not stale.exists()
    try:
        assert sorted((data_dir / "tmp").iterdir()) == sorted(path for _, path in others)
    finally:
        for task, _ in others:
            task.kill()
            task.wait()
    # the bytes themselves: SeaweedFS's volumes are compacted, not just marked deleted
    assert files_containing(data_dir / "seaweedfs", stored[1000:1400]) == []
    assert files_containing(data_dir / "seaweedfs", video[5000:5400]) == []
    assert store.get_bytes(settings.bucket_enrollments, "expo/v-keep/0.jpg") == b"someone else"


def test_forget_leaves_no_byte_of_the_name_in_the_database_files(
    private_servers: PrivateServers,
) -> None:
    """The name was in the visitors table's file (a dead row) and in the WAL after forget:
    forget rewrites the tables that held it and retires the WAL that logged it, so when it
    returns no file of the embedded PostgreSQL holds it."""
    services = private_servers.services
    postgres_home = private_servers.data_dir / "postgres"
    name = f"Qwv Forgotten-{os.urandom(6).hex()}"
    kept = f"Qwv Kept-{os.urandom(6).hex()}"
    with services.catalog() as catalog:
        catalog.events.ensure("expo")
        catalog.visitors.upsert(Visitor("expo", "v-named", name, CONSENT))
        catalog.visitors.upsert(Visitor("expo", "v-kept", kept, CONSENT))
        catalog.connection.autocommit = True
        with catalog.connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")  # the rows are in the table's file, not only in memory
    assert files_containing(postgres_home, name.encode())  # the test means something

    forget_visitor(services, "expo", "v-named")

    assert files_containing(postgres_home, name.encode()) == []
    assert files_containing(private_servers.data_dir / "seaweedfs", name.encode()) == []
    with services.catalog() as catalog:  # the others are as they were
        visitor = catalog.visitors.get("expo", "v-kept")
        assert visitor is not None and visitor.display_name == kept


def test_names_stay_out_of_the_planner_statistics(private_servers: PrivateServers) -> None:
    """ANALYZE keeps common values of each column in pg_statistic, another table's file:
    never of the visitors' names."""
    services = private_servers.services
    names = [f"Qwv Common-{os.urandom(4).hex()}" for _ in range(3)]
    with services.catalog() as catalog:
        catalog.events.ensure("stats")
        for index in range(300):
            name = names[index % len(names)]
            catalog.visitors.upsert(Visitor("stats", f"v-stats-{index}", name, CONSENT))
        catalog.connection.autocommit = True
        with catalog.connection.cursor() as cursor:
            cursor.execute("ANALYZE visitors")
            cursor.execute(
                """SELECT attname FROM pg_stats
                   WHERE tablename = 'visitors' AND most_common_vals IS NOT NULL"""
            )
            sampled = {row[0] for row in cursor.fetchall()}
            cursor.execute("DELETE FROM visitors WHERE event_id = 'stats'")
    assert "event_id" in sampled  # the test means something: common values are kept
    assert "display_name" not in sampled
