"""Benchmarks: every figure is a ratio against raw sqlite3 (or psycopg) in the same run."""
