"""Veil: hide faces in video and photos."""
