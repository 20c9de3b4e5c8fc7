"""HTTP: HTML pages and the JSON API over app.jobs."""
