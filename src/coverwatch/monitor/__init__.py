"""Continuous monitoring: re-run the audit on a schedule and alert on what changed."""
