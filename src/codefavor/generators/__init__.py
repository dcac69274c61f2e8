"""Synthetic preference-data generators (Commit-Instruct, Critic-Evol) and what they share: the run
engine (`engine`), the input layer (`inputs`), the reply layer (`replies`) and decontamination
against CodePrefBench (`decontam`)."""
