"""``python -m app serve``: run the web app with uvicorn on HOST and PORT."""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from app.config import get_settings
    from app.main import create_app
    from app.pipeline.errors import VeilError

    parser = argparse.ArgumentParser(prog="python -m app serve",
                                     description="Serve Veil's web app (settings: environment variables).")
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = get_settings()
        app = create_app(settings)
    except (VeilError, ValueError) as error:
        print(f"veil: {error}", file=sys.stderr)
        return 2
    # One uvicorn process: the app manages its own worker processes.
    # No access log: job URLs are capabilities and must not end up in logs.
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
