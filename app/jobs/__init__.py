"""Jobs: the job record, its SQLite store, and the worker processes that run the engine."""
