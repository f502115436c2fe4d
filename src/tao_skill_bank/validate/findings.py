"""A validator finding and the summary `bank validate --json` prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass

ERROR = "error"
WARNING = "warning"

# Rule ids, one per validator rule (shown in every finding so an agent can group them).
FRONTMATTER = "frontmatter"
BODY_LENGTH = "body-length"
SKILL_FOLDER = "skill-folder"
LINK = "link"
SCHEMA_TEMPLATE = "schema-template"
PARSE = "parse"
SKILL_INFO = "skill-info"
HOOKS = "hooks"
EVALS = "evals"
VERSIONS = "versions"
PLUGIN = "plugin"


@dataclass(frozen=True)
class Finding:
    file: str          # relative to the bank root, posix separators
    rule: str
    message: str
    fix: str
    severity: str = ERROR
    line: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def one_line(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{self.severity}: {where}: [{self.rule}] {self.message} — fix: {self.fix}"


def summarize(findings: list[Finding]) -> dict:
    errors = sum(f.severity == ERROR for f in findings)
    return {"ok": errors == 0, "errors": errors, "warnings": len(findings) - errors,
            "findings": [f.as_dict() for f in findings]}
