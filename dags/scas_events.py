"""One DAG ``scas_<event>`` per ``config/events/<event>.yaml`` (or ``$SCAS_EVENTS_DIR``).

The dag-processor re-parses this file, so a new event file becomes a new DAG without a
restart; a broken event file is skipped with a warning (shown with this file's parse
warnings) and never hides the other events. Every task is a call into ``scas_lib``: the
run's steps and why they are in this order are in scas_lib/run/__init__.py.

    start -> wait_for_segments (deferrable) -> segments -> recognize.expand (queue gpu,
          one task per batch of segments)
          -> decide -> highlights -> render.expand(visitor) -> publish
                    \\-> next_wave (the next run of this DAG: waits for more segments)
    start -> deliver (the videos of visitors who have left, while the wave runs) -> decide
"""

from __future__ import annotations

import warnings
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, CronTriggerTimetable, Param, TriggerRule, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException
from scas_airflow.connections import scas_settings
from scas_airflow.sensors import WaitForSegments

from scas_lib.errors import ScasError
from scas_lib.event_files import read_event_configs
from scas_lib.events import EventConfig, events_dir
from scas_lib.run import delivery, parameters, planning, publishing, recognition, records, waves


def _request(context: dict[str, Any]) -> records.RunRequest:
    return records.RunRequest.from_dict(context["ti"].xcom_pull(task_ids="start"))


def _schedule(config: EventConfig) -> Any:
    if config.schedule:
        return CronTriggerTimetable(config.schedule, timezone=config.timezone)
    return "@once" if config.starts_at else None


def build_dag(config: EventConfig) -> DAG:
    cameras = [camera.id for camera in config.cameras]
    # Every task is stopped after its time limit (parameters.task_timeouts says why).
    limit = {name: timedelta(seconds=s) for name, s in parameters.task_timeouts(config).items()}
    with DAG(
        dag_id=config.dag_id,
        description=f"SCAS highlights of {config.display_name}",
        doc_md=__doc__,
        schedule=_schedule(config),
        start_date=config.starts_at,
        catchup=False,
        max_active_runs=1,
        tags=["scas"],
        # Every task is idempotent, so every task may be retried (a server out of reach).
        default_args={
            "owner": "scas",
            "retries": parameters.TASK_RETRIES,
            "retry_delay": timedelta(seconds=config.retry_delay_s),
        },
        params={
            "event_id": Param(
                None,
                type=["null", "string"],
                description="Empty: this event, or this show. A recurring event may name "
                f"another of its shows ({config.id}-YYYYMMDD-HHMM); no other event.",
            ),
            "visitor": Param(
                None, type=["null", "string"], description="Re-render only this visitor."
            ),
            "template": Param(
                None,
                type=["null", "string"],
                description=f"Render with this template instead of {config.template!r}: the "
                "name of a shipped template or of one in templates/ beside the event files.",
            ),
            "camera": Param(
                None,
                type=["null", "string"],
                **({"enum": [None, *cameras]} if cameras else {}),
                description="Re-process every segment of this camera, then render again.",
            ),
        },
    ) as dag:

        @task(execution_timeout=limit["start"])
        def start() -> dict[str, Any]:
            context = get_current_context()
            show = context.get("logical_date") or context["dag_run"].run_after
            run = records.EventRun(config, parameters.run_request(config, context["params"], show))
            with parameters.event_services(scas_settings()) as services:
                parameters.start_run(services, run)
            return run.request.to_dict()

        wait = WaitForSegments(
            task_id="wait_for_segments",
            poll_interval=config.poll_interval_s,
            wait_timeout=timedelta(seconds=parameters.WAIT_TIMEOUT_S),
            execution_timeout=limit["wait_for_segments"],
        )

        @task(execution_timeout=limit["segments"])
        def segments(wave: dict[str, Any] | None) -> list[list[str]]:
            """The wave's segments, in batches: one recognize task each."""
            request = _request(get_current_context())
            with parameters.event_services(scas_settings()) as services:
                keys = waves.segments_to_recognize(
                    services, request, records.Wave(**wave) if wave else None
                )
            return recognition.segment_batches(keys, config)

        @task(
            queue=parameters.GPU_QUEUE,
            pool=parameters.GPU_POOL,
            retries=config.recognize_retries,
            retry_delay=timedelta(seconds=config.retry_delay_s),
            max_active_tis_per_dagrun=config.gpu_slots,
            execution_timeout=limit["recognize"],
        )
        def recognize(keys: list[str]) -> dict[str, Any]:
            context = get_current_context()
            ti = context["ti"]
            request, retry = _request(context), ti.try_number > 1
            wave = ti.xcom_pull(task_ids="segments") if ti.map_index == 0 else None
            follow = recognition.follow_on(request, config, ti.map_index, wave)
            with parameters.event_services(scas_settings()) as services:
                try:
                    return recognition.recognize_batch(
                        services, request, keys, config, retry=retry, follow=follow
                    ).record()
                except recognition.BatchFailed as error:
                    if error.retry_helps:
                        raise
                    raise AirflowFailException(str(error)) from None  # the same bytes again

        # After deliver too, whatever it did: the end's highlights see its videos done.
        @task.branch(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=limit["decide"])
        def decide(batches: list[list[str]] | None) -> str | list[str]:
            request = _request(get_current_context())
            if batches is None:
                return waves.after_failed_wave(request)
            with parameters.event_services(scas_settings()) as services:
                step = waves.next_step(services, request)
            # publish is followed too: it then waits for every render, whatever they did.
            return [step, "publish"] if step == "highlights" else step

        next_wave = TriggerDagRunOperator(
            task_id="next_wave",
            # After any failure in this wave (even of decide), the next wave still starts.
            trigger_rule=TriggerRule.ALL_DONE,
            trigger_dag_id=config.dag_id,
            conf={"event_id": "{{ ti.xcom_pull(task_ids='start')['event_id'] }}"},
            wait_for_completion=False,
            execution_timeout=limit["next_wave"],
        )

        # From the wave's start, beside its recognition, as long as that takes arrivals: a
        # visitor who left gets their video once the recognized footage shows it.
        @task(execution_timeout=limit["deliver"])
        def deliver() -> list[dict[str, Any]]:
            request = _request(get_current_context())
            with parameters.event_services(scas_settings()) as services:
                delivered = delivery.deliver_during_wave(services, request, config)
            return [asdict(output) for output in delivered]

        @task(execution_timeout=limit["highlights"])
        def highlights() -> list[str]:
            request = _request(get_current_context())
            with parameters.event_services(scas_settings()) as services:
                return planning.highlights(services, request)

        @task(retries=1, execution_timeout=limit["render"])
        def render(visitor_id: str) -> dict[str, Any]:
            request = _request(get_current_context())
            with parameters.event_services(scas_settings()) as services:
                return asdict(publishing.render(services, request, visitor_id))

        # Runs once every render is done, failed or not (skipped with next_wave by decide).
        @task(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=limit["publish"])
        def publish(visitors: list[str] | None) -> list[dict[str, Any]]:
            if visitors is None:
                raise RuntimeError("no visitor list: the highlights task failed")
            request = _request(get_current_context())
            with parameters.event_services(scas_settings()) as services:
                published = publishing.publish(services, request)
            try:
                publishing.require_published(published)
            except ScasError as error:  # the renders had their retries: publishing again won't help
                raise AirflowFailException(str(error)) from None
            return [item.record() for item in published]

        batches = segments(wait.output)
        recognized = recognize.expand(keys=batches)
        branch = decide(batches)
        visitors = highlights()
        rendered = render.expand(visitor_id=visitors)
        delivered = deliver()
        start() >> [wait, delivered]
        [recognized, delivered] >> branch >> [visitors, next_wave]
        [branch, rendered] >> publish(visitors)
    return dag


_configs, _errors = read_event_configs(events_dir())
for _error in _errors:
    warnings.warn(f"event file skipped: {_error}", UserWarning, stacklevel=1)
for _config in _configs:
    globals()[_config.dag_id] = build_dag(_config)
