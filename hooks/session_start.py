#!/usr/bin/env python3
"""SessionStart hook (Claude Code and Codex): one line of context telling the agent where the
skill bank is, which TAO release it targets (versions.yaml), and whether `tao-skills` works in
this environment — or the exact command that installs it. With Claude Code it also exports
TAO_SKILL_BANK_PATH for the session's Bash commands (through $CLAUDE_ENV_FILE).

Stdlib only and nearly import-free (the dependency check asks the import system's finders,
which does not import the modules; no re, json, shutil or importlib.util). Never breaks a session: any problem ends in exit 0. TAO_SESSION_CONTEXT=0
disables it.
"""
import os
import sys

HOOK_DIR = os.path.dirname(os.path.abspath(__file__))
ENV_VAR = "TAO_SKILL_BANK_PATH"
MAX_STDIN = 1 << 20


def _looks_like_bank(path):
    return bool(path) and os.path.isfile(os.path.join(path, "versions.yaml")) and \
        os.path.isdir(os.path.join(path, "skills"))


def _tao_release(bank):
    """`tao_version` of versions.yaml (read as text: no YAML parser before we know one exists)."""
    try:
        with open(os.path.join(bank, "versions.yaml"), encoding="utf-8", errors="replace") as handle:
            text = handle.read(1 << 16)
    except OSError:
        return None
    for line in text.splitlines():  # plain string work: importing re costs more than this
        if line.startswith("tao_version:"):
            value = line.split(":", 1)[1].split("#", 1)[0].strip().strip("\"'")
            if value:
                return value
    marker = "tao-toolkit:"
    if marker in text:
        tag = text.split(marker, 1)[1].split()[0].strip("\"'")
        return tag.split("-", 1)[0] or None
    return None


def _sh_quote(text):
    """shlex.quote without importing shlex (and re with it)."""
    safe = text and all(c.isalnum() or c in "@%+=:,./-_" for c in text)
    return text if safe else "'" + text.replace("'", "'\"'\"'") + "'"


def _json_string(text):
    """json.dumps of a str without importing json (and re with it)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20:
            out.append("\\u%04x" % ord(char))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _which(name, path):
    """shutil.which without importing shutil (and re with it)."""
    for folder in (path or "").split(os.pathsep):
        candidate = os.path.join(folder, name)
        if folder and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _package_source():
    """Where python3 gets tao_skill_bank from, the way the skill launchers do: the copy shipped
    with these hooks (checkout or plugin src/, or the installed wheel's own), else any installed
    copy. None when there is none."""
    for candidate in (os.path.join(HOOK_DIR, os.pardir, "src"),
                      os.path.join(HOOK_DIR, os.pardir, os.pardir, os.pardir)):
        if os.path.isfile(os.path.join(candidate, "tao_skill_bank", "install.py")):
            sys.path.insert(0, os.path.abspath(candidate))
            return os.path.abspath(os.path.join(candidate, "tao_skill_bank"))
    for finder in sys.meta_path:  # importlib.util.find_spec without importing importlib.util
        try:
            spec = finder.find_spec("tao_skill_bank", None)
        except Exception:
            continue
        if spec is not None and spec.origin:
            return os.path.dirname(spec.origin)
    return None


def context_line(env):
    """The line the agent sees, and the bank root to export (None when there is no bank)."""
    bank = env.get(ENV_VAR) or os.path.dirname(HOOK_DIR)
    bank = os.path.abspath(os.path.expanduser(bank))
    if not _looks_like_bank(bank):
        bank = None
    release = _tao_release(bank) if bank else None
    where = f"TAO skill bank at {bank} (${ENV_VAR})" if bank else "TAO skill bank hooks (bank folder not found)"
    target = f"targets TAO {release} (versions.yaml)" if release else "TAO release unknown (no versions.yaml)"

    package = _package_source()
    on_path = _which("tao-skills", env.get("PATH"))
    if package is not None:
        from tao_skill_bank.install import RUNTIME_DEPENDENCIES, install_command, missing_modules

        missing = missing_modules()
        if not missing:
            how = f"`{on_path}`" if on_path else "`python3 -m tao_skill_bank` or a skill's `scripts/tao_skills.py`"
            return f"{where}; {target}; tao-skills is ready: run {how}.", bank
        names = ", ".join(sorted(RUNTIME_DEPENDENCIES[m] for m in missing))
        return (f"{where}; {target}; tao-skills is NOT usable yet (python3 lacks {names}) — "
                f"install: {install_command(missing, python='python3')}"), bank
    if on_path:
        return f"{where}; {target}; tao-skills is ready: run `{on_path}`.", bank
    source = _sh_quote(bank) if bank and os.path.isfile(os.path.join(bank, "pyproject.toml")) \
        else "<path to the TAO skill bank checkout>"
    return (f"{where}; {target}; tao-skills is NOT installed — install: "
            f"python3 -m pip install {source}"), bank


def _export(env_file, bank):
    """Append `export TAO_SKILL_BANK_PATH=...` to Claude Code's session env file (once)."""
    line = f"export {ENV_VAR}={_sh_quote(bank)}\n"
    try:
        if os.path.isfile(env_file):
            with open(env_file, encoding="utf-8", errors="replace") as handle:
                if line in handle.read(1 << 20):
                    return
        with open(env_file, "a", encoding="utf-8") as handle:
            handle.write(line)
    except OSError:
        pass


def main():
    if os.environ.get("TAO_SESSION_CONTEXT", "").strip() == "0":
        return 0
    try:
        sys.stdin.buffer.read(MAX_STDIN)  # the payload carries nothing this hook needs
    except (OSError, ValueError):
        pass
    try:
        line, bank = context_line(os.environ)
        env_file = os.environ.get("CLAUDE_ENV_FILE")
        if bank and env_file and not os.environ.get(ENV_VAR):
            _export(env_file, bank)
        sys.stdout.write('{"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": '
                         + _json_string(line[:9000]) + "}}\n")
    except BaseException as exc:
        sys.stderr.write(f"session_start: skipped ({type(exc).__name__}: {exc})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
