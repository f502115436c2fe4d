"""Skill evals: run evals.json through an agent CLI with and without the skill, grade by code."""
