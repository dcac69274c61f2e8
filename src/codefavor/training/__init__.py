"""Training CodeFavor judges: the data builder, run configs, the trainer and model merging."""
