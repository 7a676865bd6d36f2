"""Evaluation: held-out bits per character, the code-generation task (BLEU,
syntax validity, novelty) and sweeps over training settings.
"""
