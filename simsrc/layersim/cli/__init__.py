"""The command line: the typer app (`app`), the error boundary (`support`) and atomic output
(`atomic`). The only layer that prints, and the only one that turns errors into exit codes."""
