"""Find the skill bank root: --bank, else $TAO_SKILL_BANK_PATH, else the checkout, else the
copy shipped inside the installed package."""

from __future__ import annotations

import os
from pathlib import Path

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError

ENV_VAR = "TAO_SKILL_BANK_PATH"
_PACKAGE_DIR = Path(__file__).resolve().parent
SHIPPED_BANK = _PACKAGE_DIR / "_bank"
CHECKOUT_ROOT = _PACKAGE_DIR.parent.parent  # src/tao_skill_bank -> repo root


def looks_like_bank(path: Path) -> bool:
    return (path / "versions.yaml").is_file() and (path / "skills").is_dir()


def candidate_roots(explicit: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """Where the bank may be, in priority order, with the reason each was considered."""
    roots: list[tuple[str, Path]] = []
    if explicit:
        roots.append(("--bank", Path(explicit).expanduser()))
        return roots
    env = os.environ.get(ENV_VAR)
    if env:
        roots.append((f"${ENV_VAR}", Path(env).expanduser()))
        return roots
    roots.append(("checkout", CHECKOUT_ROOT))
    roots.append(("installed package", SHIPPED_BANK))
    return roots


def find_bank_root(explicit: str | os.PathLike | None = None) -> Path:
    tried = []
    for source, root in candidate_roots(explicit):
        if looks_like_bank(root):
            return root.resolve()
        tried.append(f"{source}={root}")
    raise UserError("no skill bank found (needs versions.yaml and skills/)", file=", ".join(tried),
                    fix=f"pass --bank PATH or export {ENV_VAR}=<bank root>", exit_code=EXIT_ENVIRONMENT)


def skill_dir(skill: str, bank: str | os.PathLike | None = None) -> Path:
    root = find_bank_root(bank)
    path = root / "skills" / skill
    if not (path / "SKILL.md").is_file():
        known = sorted(p.name for p in (root / "skills").iterdir() if (p / "SKILL.md").is_file())
        raise UserError(f"unknown skill '{skill}'", file=str(root / "skills"),
                        fix=f"use one of: {', '.join(known) or '(none)'}")
    return path


def skill_folders(root: Path) -> list[Path]:
    """The skill folders of a bank (skills/<name>/, hidden and _private names left out)."""
    base = root / "skills"
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
