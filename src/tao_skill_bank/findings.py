"""The one finding type: a problem a check found, where, and the fix (standard library only).

The bank validator, `versions check`, the report check and the run check all return these; each
command keeps its own documented JSON keys through the small views below.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    file: str | None   # where (relative to the bank root when there is one); None: no file
    rule: str          # which check found it
    message: str
    fix: str
    severity: str = ERROR
    line: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def one_line(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{self.severity}: {where}: [{self.rule}] {self.message} — fix: {self.fix}"

    def brief(self) -> str:
        """`[rule] message — fix: fix`, for lists under a heading that already says where."""
        return f"[{self.rule}] {self.message} — fix: {self.fix}"
