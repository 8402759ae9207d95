"""How long an event keeps each kind of personal data, counted from the time its videos
were published (the event is ``done``). Pure: a policy, two times in, the due steps out.

The defaults keep what a visitor still needs and nothing longer:

- the mean embeddings of **bystanders** (tracks that are nobody enrolled): gone as soon as
  the event is done, since they only served to tell people apart during the event;
- **kiosk photos and visitor embeddings**: 7 days (a visitor may ask for a re-render);
  the embeddings of a visitor who consented to be remembered at future events stay as
  long as the visitor (:mod:`scas_lib.visitors.returning`), their photos do not;
- **recordings**: 30 days (an operator may re-process a camera);
- **highlight videos**, and with them the visitors' names and every row about them: 90
  days.

An event file may set other numbers (``retention: {recordings_days: 7}``); 0 means at once.

>>> from datetime import UTC, datetime, timedelta
>>> done = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
>>> RetentionPolicy().due_steps(done, done + timedelta(days=8))
['bystander_embeddings', 'enrollments']
>>> RetentionPolicy().due_steps(None, done + timedelta(days=365))   # not done yet: keep all
[]
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PurgeStep = Literal["bystander_embeddings", "enrollments", "recordings", "highlights"]
#: The steps in the order their data expires under the defaults (each later one assumes
#: nothing of the earlier ones: a policy may order them otherwise).
PURGE_STEPS: tuple[PurgeStep, ...] = (
    "bystander_embeddings",
    "enrollments",
    "recordings",
    "highlights",
)


class RetentionPolicy(BaseModel):
    """Days after the event is done until each kind of data is deleted (module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bystander_embeddings_days: float = Field(default=0.0, ge=0, le=3650)
    enrollments_days: float = Field(default=7.0, ge=0, le=3650)
    recordings_days: float = Field(default=30.0, ge=0, le=3650)
    highlights_days: float = Field(default=90.0, ge=0, le=3650)

    def days(self, step: PurgeStep) -> float:
        return float(getattr(self, f"{step}_days"))

    def due_steps(self, done_at: datetime | None, now: datetime) -> list[PurgeStep]:
        """The steps whose time has come at ``now`` for an event done at ``done_at`` (None:
        not done yet, nothing is due)."""
        if done_at is None:
            return []
        return [step for step in PURGE_STEPS if now >= done_at + timedelta(days=self.days(step))]
