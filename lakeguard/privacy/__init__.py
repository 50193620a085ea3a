"""GDPR building blocks, all on Arrow arrays so Lambda and Spark share them.

Keyed pseudonyms, generalisation, redaction, k-anonymity and the leak guard. What an
identifier looks like (NIR validation, Unicode folding, name words) is one layer down, in
:mod:`lakeguard.identifiers`, which parsing shares.
"""
