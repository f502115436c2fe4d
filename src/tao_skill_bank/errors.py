"""User-facing errors: one line naming the file, the field and the fix; never a traceback.

Every command raises `UserError` for bad input. The CLI shell turns it into one line on
stderr and the error's exit code. Exit codes follow one convention across the bank:
1 = the input or the request is wrong (fix it and rerun), 2 = the environment is missing
something (a file, a tool, a bank), 3 = a check ran and found problems.
"""

from __future__ import annotations

EXIT_BAD_INPUT = 1
EXIT_ENVIRONMENT = 2
EXIT_FINDINGS = 3


class UserError(Exception):
    """A problem the user (or agent) can fix; rendered as one line, no traceback."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None,
                 fix: str | None = None, exit_code: int = EXIT_BAD_INPUT):
        self.message = message
        self.file = file
        self.field = field
        self.fix = fix
        self.exit_code = exit_code
        super().__init__(self.one_line())

    def one_line(self) -> str:
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.field:
            parts.append(f"field '{self.field}'")
        where = ": ".join(parts)
        text = f"{where}: {self.message}" if where else self.message
        if self.fix:
            text += f" — fix: {self.fix}"
        return " ".join(text.split())  # guarantee a single line

    def as_dict(self) -> dict:
        return {"error": self.message, "file": self.file, "field": self.field,
                "fix": self.fix, "exit_code": self.exit_code}
