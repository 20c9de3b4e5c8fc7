from tests.jobs.fixtures import clip_path, client, make_client, settings  # noqa: F401 (fixtures)
