#!/usr/bin/env python3
"""Stand-in agent that never finishes in time. Usage: sleepy.py PROMPT."""
import time

print("thinking...", flush=True)
time.sleep(60)
