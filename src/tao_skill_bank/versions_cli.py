"""`tao-skills versions get|check|stamp`."""

from __future__ import annotations

from tao_skill_bank.output import add_group, add_json_flag, emit


def register(subparsers) -> None:
    sub = add_group(subparsers, "versions", "read versions.yaml and keep skills/docs in sync with it")
    get = sub.add_parser("get", help="print the value of a dotted key (exit 1 unknown key, 2 no versions.yaml)")
    get.add_argument("key", help="e.g. images.tao_toolkit.data_services")
    add_json_flag(get)
    get.set_defaults(func=_get)
    check = sub.add_parser("check", help="fail on schema errors, drifted or untagged image literals")
    add_json_flag(check)
    check.set_defaults(func=_check)
    stamp = sub.add_parser("stamp", help="rewrite every versions-key tagged literal from versions.yaml")
    add_json_flag(stamp)
    stamp.set_defaults(func=_stamp)


def _get(args) -> int:
    from tao_skill_bank.bank import find_bank_root
    from tao_skill_bank.versions import VERSIONS_FILE, get_value, load_versions

    root = find_bank_root(args.bank)
    value = get_value(load_versions(root), args.key, str(root / VERSIONS_FILE))
    emit(args, {"key": args.key, "value": value}, value)
    return 0


def _check(args) -> int:
    from tao_skill_bank.bank import find_bank_root
    from tao_skill_bank.errors import EXIT_FINDINGS
    from tao_skill_bank.versions import check_bank, finding_dict

    root = find_bank_root(args.bank)
    findings = check_bank(root)
    text = "\n".join(f"{f.file}:{f.line}: {f.message} — fix: {f.fix}" for f in findings) or \
        "versions: OK (no drift, no untagged TAO images)"
    emit(args, {"ok": not findings, "findings": [finding_dict(f) for f in findings]}, text)
    return EXIT_FINDINGS if findings else 0


def _stamp(args) -> int:
    from tao_skill_bank.bank import find_bank_root
    from tao_skill_bank.versions import stamp_bank

    changed = stamp_bank(find_bank_root(args.bank))
    emit(args, {"changed": changed},
         "\n".join(f"stamped {c}" for c in changed) or "versions: nothing to stamp")
    return 0
