"""Reading the event files (:mod:`scas_lib.events` says what one holds): one event's file
by its id (:func:`find_event`, parsed once per change of the file, for the kiosk's consent
lookup on every enrollment; :func:`read_event_config`, its template checked too, for a
run), and every file of a directory (:func:`read_event_configs`, for the DAG file).

A file that cannot be read or is invalid never hides the others: :func:`read_event_configs`
returns the good ones and one error per bad file, naming the file and the field.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from scas_lib.errors import ConfigurationError, field_problems
from scas_lib.events import (
    EVENT_FILE_SUFFIXES,
    TEMPLATES_FOLDER,
    EventConfig,
    events_dir,
    show_parent_id,
)
from scas_lib.highlights.templates import TemplateError, load_template
from scas_lib.storage import keys

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventConfigError:
    """Why one event file was not loaded."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def find_event_file(event_id: str, directory: Path | None = None) -> Path | None:
    """The event file named after ``event_id`` (``.yaml`` or ``.yml``) in ``directory``
    (default :func:`events_dir`), or None. Both at once is an error: which one counts would
    depend on the reader.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "gala.yml").write_text("cameras: [{id: cam1}]")
    >>> find_event_file("gala", folder).name, find_event_file("expo", folder)
    ('gala.yml', None)
    """
    keys.validate_id(event_id, "event id")
    folder = directory or events_dir()
    found = [folder / f"{event_id}{suffix}" for suffix in EVENT_FILE_SUFFIXES]
    found = [path for path in found if path.is_file()]
    if len(found) > 1:
        raise ConfigurationError(f"event {event_id} has two files: {found[0]} and {found[1]}")
    return found[0] if found else None


def read_event_config(path: Path) -> EventConfig:
    """One event file, its template checked too (:func:`check_event_template`); ``id``
    defaults to the file name. Raises ConfigurationError."""
    config = parse_event_file(path)
    check_event_template(config, path)
    return config


def parse_event_file(path: Path) -> EventConfig:
    """One event file, validated (its template is not loaded: see :func:`read_event_config`),
    parsed again only when the file changes: the same path, size and modification time give
    the same config without reading it. Raises ConfigurationError."""
    try:
        stat = path.stat()
    except OSError as error:
        raise ConfigurationError(f"{path}: cannot read it: {error}") from None
    return _parsed_event_file(path, stat.st_mtime_ns, stat.st_size, stat.st_ino)


@functools.lru_cache(maxsize=256)
def _parsed_event_file(path: Path, mtime_ns: int, size: int, inode: int) -> EventConfig:
    """The config of ``path`` as it is at ``mtime_ns``, ``size`` and ``inode`` (the cache's
    key: a changed or replaced file is read again). A bad file is not cached."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigurationError(f"{path}: cannot read it: {error}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{path}: expected a mapping of settings, got {type(data).__name__}"
        )
    data.setdefault("id", path.stem)
    try:
        return EventConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigurationError(f"{path}: {field_problems(error)}") from None


def check_event_template(config: EventConfig, path: Path) -> None:
    """ConfigurationError naming ``path`` unless the event's template (with its overrides)
    loads from the shipped ones or the venue's ``templates/`` beside the file."""
    try:
        load_template(config.template, config.template_overrides, path.parent / TEMPLATES_FOLDER)
    except TemplateError as error:
        raise ConfigurationError(f"{path}: {error}") from None


@dataclass(frozen=True)
class FoundEvent:
    """An event's settings, and the event file they come from (None: it has none, and runs
    with every default)."""

    config: EventConfig
    path: Path | None

    @property
    def from_file(self) -> bool:
        return self.path is not None


def find_event(event_id: str, directory: Path | None = None) -> FoundEvent:
    """The settings of ``event_id``: its event file (``<event_id>.yaml`` or ``.yml`` in
    ``directory``, default :func:`events_dir`), or for a show ``<id>-YYYYMMDD-HHMM`` its
    recurring event's file, else every default. Each file is parsed once per change
    (:func:`parse_event_file`) and its template is not loaded: the kiosk asks this for the
    consent text on every enrollment.

    >>> found = find_event("walk-in", directory=Path("/nowhere"))
    >>> found.from_file, found.config.id, found.config.consent.version
    (False, 'walk-in', 'scas-2026-11')
    """
    keys.validate_id(event_id, "event id")
    path = find_event_file(event_id, directory)
    config = parse_event_file(path) if path else None
    if config is None and (parent := show_parent_id(event_id)):
        parent_path = find_event_file(parent, directory)
        parent_config = parse_event_file(parent_path) if parent_path else None
        if parent_config and parent_config.recurring:
            path, config = parent_path, parent_config
    return FoundEvent(config or EventConfig(id=event_id), path)


def read_event_configs(directory: Path) -> tuple[list[EventConfig], list[EventConfigError]]:
    """Every event file in ``directory`` (sorted by name) and one error per bad file.

    A missing directory has no events. Two files with the same event id: the second is an
    error.
    """
    configs: list[EventConfig] = []
    errors: list[EventConfigError] = []
    if not directory.is_dir():
        return configs, errors
    seen: dict[str, Path] = {}
    paths = sorted(p for p in directory.iterdir() if p.suffix in EVENT_FILE_SUFFIXES)
    for path in paths:
        if path.name.startswith("."):
            continue
        try:
            config = read_event_config(path)
        except ConfigurationError as error:
            errors.append(EventConfigError(path, str(error).removeprefix(f"{path}: ")))
            continue
        if config.id in seen:
            errors.append(
                EventConfigError(
                    path, f"event id {config.id!r} is already defined in {seen[config.id]}"
                )
            )
            continue
        seen[config.id] = path
        configs.append(config)
    return configs, errors


def load_event_configs(directory: Path | None = None, *, strict: bool = False) -> list[EventConfig]:
    """The valid event files in ``directory`` (default :func:`events_dir`).

    Each bad file is logged as an error and skipped, so one broken file does not hide the
    other events; ``strict`` raises ConfigurationError listing every bad file instead.
    """
    configs, errors = read_event_configs(directory or events_dir())
    if errors and strict:
        raise ConfigurationError("; ".join(str(error) for error in errors))
    for error in errors:
        log.error("event file skipped: %s", error)
    return configs
