"""Validator rule ids and the summary `bank validate --json` prints (the finding type is
`tao_skill_bank.findings.Finding`)."""

from __future__ import annotations

from tao_skill_bank.findings import ERROR, Finding

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


def summarize(findings: list[Finding]) -> dict:
    errors = sum(f.severity == ERROR for f in findings)
    return {"ok": errors == 0, "errors": errors, "warnings": len(findings) - errors,
            "findings": [f.as_dict() for f in findings]}
