"""Result printing: compact JSON for agents (`--json`), short text for people; both on stdout."""

from __future__ import annotations

import json
import sys
from typing import Any


def emit(args: Any, data: Any, text: str | None = None) -> None:
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps(data, separators=(",", ":"), default=str) + "\n")
    elif text is not None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def add_json_flag(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def add_group(subparsers, name: str, help_text: str):
    """A command group (e.g. `versions`) whose subcommands register on the returned object."""
    group = subparsers.add_parser(name, help=help_text, description=help_text)
    group.set_defaults(group_parser=group)
    return group.add_subparsers(dest=f"{name}_command", metavar="SUBCOMMAND")
