"""``python -m orchestrator_feedback``: the command line."""

from orchestrator_feedback.cli import main

main()
