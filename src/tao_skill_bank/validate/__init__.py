"""Bank validator: every rule a skill bank must pass before it ships.

`validate_bank(root)` returns findings (file, rule, message, fix, severity) for: SKILL.md
frontmatter and body (frontmatter.py), relative links (links.py), action schemas vs templates and
the manifest, JSON/YAML parsing, skill_info.yaml, hooks.json, evals.json and versions drift
(runner.py, the one module that reads files).
"""

from tao_skill_bank.findings import Finding
from tao_skill_bank.validate.findings import summarize
from tao_skill_bank.validate.runner import validate_bank

__all__ = ["Finding", "summarize", "validate_bank"]
