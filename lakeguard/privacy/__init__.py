"""GDPR building blocks, all on Arrow arrays so Lambda and Spark share them.

NIR validation, keyed pseudonyms, generalisation, redaction, k-anonymity and the leak guard.
"""
