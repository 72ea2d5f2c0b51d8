"""The results store: every job, trial and verdict across runs, for trends and regressions.

A SQLite file (`jobs/results.db`) by default, PostgreSQL when `OPSBENCH_DATABASE_URL`
says so (`location`). The schema is SQLAlchemy Core (`tables`), migrated by Alembic on
every open (`engine`). A job directory is read into records (`artifacts`) and written in
one transaction (`ingest`, with `bulk` for the many rows); `autoingest` is the job-end
hook. `trends` computes trend lines and regression tests, `textreport` prints them, and
`browse` holds the queries behind `opsbench view`. Nothing here is imported at CLI
start-up: SQLAlchemy is imported by the commands that use it.
"""
