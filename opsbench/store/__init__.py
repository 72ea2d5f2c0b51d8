"""The results store: every job, trial and verdict across runs, for trends and regressions.

A SQLite file (`jobs/results.db`) by default, PostgreSQL when `OPSBENCH_DATABASE_URL`
says so; the schema is SQLAlchemy Core (`tables`) migrated by Alembic on every open
(`engine`). Job directories are read into records (`artifacts`) and written one job per
transaction (`ingest`); `trends` and `regressions` read it back. Nothing here is imported
at CLI start-up: SQLAlchemy is imported by the commands that use it.
"""
