#!/usr/bin/env python3
"""Scripted stand-in for an agent CLI that answers without doing anything. Usage: do_nothing.py PROMPT."""
import sys

print("Sure, I can help with that.")
sys.exit(0)
