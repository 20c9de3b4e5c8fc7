"""Typed errors. Each carries one sentence a user can act on; the CLI prints it and the
web app shows it. Input errors also inherit ValueError so generic code can catch them."""

from __future__ import annotations


class VeilError(Exception):
    """Base class: ``str(error)`` is the sentence shown to the user."""


class InputError(VeilError, ValueError):
    """The input cannot be processed (missing, not a video or image, no video stream...)."""


class OutputError(VeilError, OSError):
    """The output cannot be written."""


class ModelError(VeilError, RuntimeError):
    """A model file is missing or altered."""


class ProcessingError(VeilError, RuntimeError):
    """A frame could not be processed; the job fails rather than pass it through."""


class Cancelled(VeilError):
    """The caller asked to stop."""
