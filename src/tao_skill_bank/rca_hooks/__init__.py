"""RCA hooks: package a gap-analysis results folder with its provenance, check the report, and
diagnose gap-analysis runs.

Standard library only: the hook scripts run under whatever `python3` the agent's machine has,
possibly without pyyaml or pandas, and must stay fast on the path where they have no work.
"""
