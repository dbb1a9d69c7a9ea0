"""Command-line commands of the pipeline, one module per family of commands."""
