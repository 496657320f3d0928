"""What every SAM job is: an object with one ``run`` that returns a result or raises (no Qt).

Like superqt's ``WorkerBase`` (returned / errored / finished), the worker runs a job
and reports it in one shape: the event ``run`` returns, or ``failure`` of the
exception's one-line text, or nothing when the job was cancelled. News while it
runs (progress, a first result) goes through :meth:`JobContext.report`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from enum import Enum

from app.services.sam.context import JobContext
from app.services.sam.events import Event, Failed


class Reason(Enum):
    """Why a running job was told to stop."""

    REPLACED = "a newer request of the same kind came"
    GAVE_WAY = "the user opened an image that needs encoding"
    CHECKPOINT = "a checkpoint is to be loaded"
    NEW_SAM = "another checkpoint was loaded"
    DEVICE_SWITCH = "SAM moves to another device"
    CANCELLED = "the user cancelled it"
    STOPPING = "the worker is stopping"


class Cancelled(Exception):
    """Raised inside a job (by :meth:`JobContext.check`) to abandon work nobody needs now."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason


class Job(ABC):
    #: What :attr:`SamWorker.failed` names when the job fails.
    kind: str = "sam"
    #: False for jobs that never touch the loaded SAM: a device switch need not wait for them.
    uses_sam: bool = True

    @abstractmethod
    def run(self, ctx: JobContext) -> Event | None:
        """Do the work on the calling lane; return what to report, or None."""

    @property
    def image_key(self) -> str | None:
        """The image this job runs the encoder on, if it does."""
        return None

    def failure(self, ctx: JobContext, text: str) -> tuple[Event, ...]:
        """What to report when ``run`` raised; ``text`` is the error on one line."""
        return (Failed(self.kind, text),)

    def retry_on_cpu(self, ctx: JobContext, error: BaseException) -> bool:
        """After the GPU ran out of memory: make the next ``run`` use the CPU; False to fail."""
        return ctx.fall_back_to_cpu(error)
