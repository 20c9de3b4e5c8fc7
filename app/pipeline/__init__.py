"""The anonymization engine: pure stages plus the two passes that run them.

Nothing here knows about HTTP or the job database; the CLI, the web worker and
the benchmarks all call the same functions.
"""
