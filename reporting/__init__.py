"""HTML reports built from a job's artifacts alone.

- `reporting.run_report.write_run_report(job_dir)` writes `jobs/<job>/run_report.html`;
- `reporting.comparison.write_comparison(job_dirs, out)` writes a suite's comparison.html.

Every number comes from `opsbench.metrics`; pages are single self-contained files.
"""
