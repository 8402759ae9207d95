"""What each step of an event does, as plain functions, one module per step of the DAG: the
Airflow tasks of ``dags/scas_events.py`` and the ``scas recognize`` / ``scas highlights``
commands call these and nothing else, so the CLI and the DAG cannot disagree. Callers import
the step they use (``from scas_lib.run import waves``); nothing is handed on from here.

No Airflow import in this package, and no model runtime at import time: the DAG file imports
it on every parse, so the face engine, the decoder and the renderer are imported inside the
functions that use them.

The DAG of an event (``dags/scas_events.py``) runs in *waves*. One DAG run is one wave:

1. ``start``: resolve the run's event id and mode, record the event and its cameras
   (:mod:`~scas_lib.run.parameters`);
2. ``wait_for_segments`` (deferrable, in the triggerer): wait until the recordings bucket
   holds segments not yet recognized (new keys, or new content under a known key), or the
   run has ended and its videos are not published yet (:func:`~scas_lib.run.waves.look`,
   :func:`~scas_lib.run.waves.run_state`);
3. ``recognize``, mapped over batches of the wave's segments
   (:func:`~scas_lib.run.recognition.segment_batches`), on queue ``gpu``: each task
   recognizes its batch one segment after another
   (:func:`~scas_lib.run.recognition.recognize_batch`), its models loaded once; the first
   then takes the segments that arrive, as they come, for ``wave_s``
   (:func:`~scas_lib.run.recognition.arrivals`), and after the end marker until none is
   left;
3b. ``deliver``, from ``start``, beside the above: the videos of the visitors who left, as
   the recognized footage shows them gone, and at the end marker those of the visitors
   still there while the last segments are recognized
   (:func:`~scas_lib.run.delivery.deliver_during_wave`);
4. ``decide``: when the end marker is there and no segment is left
   (:func:`~scas_lib.run.waves.next_step`), go on to ``highlights``
   (:mod:`~scas_lib.run.planning`) -> ``render`` (mapped over visitors) -> ``publish``
   (:mod:`~scas_lib.run.publishing`); otherwise start the next wave (a new run of the same
   DAG, which waits for the next segments).

So segments are recognized while the event is running, as the cameras upload them, and
after the end marker only the last segments and the videos they change remain. A
later live run recognizes late segments and renders again; an event run again under the
same id opens a new run with its start marker, and is not fooled by the earlier end
marker, which ``publish`` recorded as published after.

Three modes, chosen by the run's params (:class:`~scas_lib.run.records.RunRequest`):

- ``live`` (no param): the waves above;
- ``camera``: re-process every segment of one camera now, then render everything again;
- ``render``: no recognition; render again (one visitor, or all), maybe with another
  template.

The ``scas`` command runs the same steps by hand: ``scas recognize`` resolves the event
(:func:`~scas_lib.run.parameters.resolve_run`, the event file's settings when there is
one), records it (:func:`~scas_lib.run.parameters.start_run`) and calls
:func:`~scas_lib.run.recognition.recognize` per segment; ``scas highlights`` calls
:func:`~scas_lib.run.planning.highlights`, :func:`~scas_lib.run.publishing.render` per
visitor and :func:`~scas_lib.run.publishing.publish`. The daily ``scas_retention`` DAG and
``scas purge`` call :func:`~scas_lib.run.retention.purge`.

Every step is idempotent: recognizing a segment again replaces its tracks, planning
replaces appearances, rendering replaces a video, so running a DAG twice duplicates
nothing.
"""
