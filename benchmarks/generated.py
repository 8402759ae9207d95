"""Generated events for the benchmarks, made once and kept (generation takes minutes)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def generated_event(directory: Path, config) -> Path:
    """``directory`` holding the event of ``config`` (a SimulationConfig), generated with
    the default model pack and the registry's sample photos unless already there."""
    from scas_lib.faces.engine import FaceEngine
    from scas_lib.provisioning.install import install_default_pack
    from scas_lib.settings import Settings
    from scas_lib.simulation.generate import generate_event
    from scas_lib.simulation.people import sample_photos

    if (directory / "event.json").exists():
        return directory
    settings = Settings()
    pack = install_default_pack(settings.models_path, download_dir=settings.downloads_path)
    engine = FaceEngine.load(pack.directory, provider=settings.onnx_provider)
    photos = sample_photos(settings.data_dir / "samples", settings.package_index_url)
    generate_event(directory, config, START, engine, photos)
    return directory
