"""Gap analysis of a VCN classify experiment (skill tao-analyze-gaps-visual-changenet).

`contract` (the results folder's names), `config` (container keys), `inputs` (CSV, train YAML),
`maths` (pure), `artifacts` (compute + write), `backends` (local / docker), `results` (the one
reader); `*_cli` modules hold the argparse wiring. docs/ARCHITECTURE.md has the map.
"""

# --engine choices, here so the CLI can offer them without importing the engine modules.
ENGINES = ("auto", "local", "docker")
