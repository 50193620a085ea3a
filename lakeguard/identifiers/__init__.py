"""What an identifier looks like: recognised in raw text, before any privacy rule applies.

NIR validation (:mod:`~lakeguard.identifiers.nir`), Unicode folding
(:mod:`~lakeguard.identifiers.normalise`, :mod:`~lakeguard.identifiers.confusables`), name
words (:mod:`~lakeguard.identifiers.words`) and the raw values of an object's identifier
columns (:mod:`~lakeguard.identifiers.rawvalues`). Parsing needs them (a NIR column is
typed by validating it; the raw values are gathered as rows are parsed) and so do the
privacy rules; they sit between the contracts and the transforms so that both can import
them, and they import neither.
"""
