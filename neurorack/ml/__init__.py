"""The ml toolbox: descriptors, dataset, model, training, evaluation, export. Imports torch."""
