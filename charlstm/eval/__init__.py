"""Evaluation: held-out bits per character (static, and dynamic: adapting to
the text scored so far), the code-generation task (BLEU, syntax validity,
novelty) and sweeps over training settings.
"""
