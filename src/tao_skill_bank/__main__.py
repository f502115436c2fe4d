from tao_skill_bank.cli import main

raise SystemExit(main())
