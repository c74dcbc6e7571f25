"""The ml toolbox: dataset, models, training, evaluation, export, trimming. Imports torch; only the
commands that train, trim, evaluate and resynthesise import it (see docs/architecture.md)."""
