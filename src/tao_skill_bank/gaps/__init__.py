"""Gap analysis of a VCN classify experiment (skill tao-analyze-gaps-visual-changenet).

`config` (container keys, inputs), `engine` (pure maths), `artifacts` (results folder),
`engines` (local / docker), `engine_cli` (`tao-skills gap_analysis vcn_aoi`).
"""

# --engine choices, here so the CLI can offer them without importing the engine modules.
ENGINES = ("auto", "local", "docker")
