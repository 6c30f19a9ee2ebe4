"""The ``AirflowPlugin`` that ships our listener; Airflow loads it through the
``airflow.plugins`` entry point (see ``airflow.py`` for what is recorded)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from orchestrator_feedback.adapters.airflow import FeedbackListener

__all__ = ["FeedbackAirflowPlugin"]


class FeedbackAirflowPlugin(AirflowPlugin):  # type: ignore[misc]
    """Registers ``FeedbackListener`` with Airflow's listener manager."""

    name = "orchestrator_feedback"
    listeners = [FeedbackListener()]  # noqa: RUF012 - Airflow reads this class attribute
