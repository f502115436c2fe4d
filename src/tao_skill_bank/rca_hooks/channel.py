"""What a PostToolUse hook prints so that the model actually sees it.

Claude Code ignores plain stdout of a PostToolUse hook (debug log only). With exit 0 and a JSON
object on stdout, `decision: "block"` puts `reason` in front of the model next to the tool
result, and `hookSpecificOutput.additionalContext` adds context. Codex's PostToolUse accepts the
same fields. Problems therefore go out as a block with a reason (plus the context); good news
goes out as context only. Strings are capped below the 10,000-character limit.
"""

from __future__ import annotations


MAX_CHARS = 9_000


def _cap(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 40] + "\n… (truncated; run the CLI for all)"


def context(text: str, event: str = "PostToolUse") -> dict:
    return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": _cap(text)}}


def problems(reason: str, extra_context: str = "", event: str = "PostToolUse") -> dict:
    """Findings the model must act on. PostToolUseFailure has no block decision: context only."""
    if event != "PostToolUse":
        return context(reason + ("\n" + extra_context if extra_context else ""), event)
    output = {"decision": "block", "reason": _cap(reason)}
    if extra_context:
        output.update(context(extra_context, event))
    return output
