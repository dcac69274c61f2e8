"""Synthetic preference-data generators (Commit-Instruct, Critic-Evol) and what they share:
decontamination against CodePrefBench."""
