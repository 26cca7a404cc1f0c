"""What to change in a set of images, and what it saves: CI gates on image waste (`gates`).

The advice reads the figures `accounting` computes; it never prints (the report and the CLI
present it)."""
