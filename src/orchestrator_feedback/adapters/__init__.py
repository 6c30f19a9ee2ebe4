"""Adapters that turn existing orchestrators' lifecycle events into our hook calls.

- ``orchestrator_feedback.adapters.celery``: ``connect_celery(app)`` (extra ``[celery]``).
- ``orchestrator_feedback.adapters.dask``: ``FeedbackSchedulerPlugin`` (extra ``[dask]``).
"""
