"""``make bench-peers``: our store beside MLflow 3's assessments and Dagster's event log
(see ``__main__.py``)."""
