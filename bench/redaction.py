"""Redaction quality and cost: lakeguard's detectors against Presidio with spaCy's French model.

Both read the same comments: every class of the adversarial corpus
(:mod:`lakeguard.samples.adversarial`), planted ``--instances`` times each with different
people, and benign comments (cities, lawyers, ordinary HR notes) that must come out
untouched. For each planted comment the redacted text is handed to the independent
scanner of the tests (``tests/privacy_scan.py``): recall is the share of comments where
it finds nothing left. A benign comment is a false positive when the detector flags a
person-identifying span in it (lakeguard: any placeholder; Presidio: any entity but
LOCATION, which is not a person's identifier here).

lakeguard runs as the clean stage does: fold, patterns, then the words of the names of
the object (the generated file's own names). Presidio runs its analyzer with the French
spaCy pipeline (``fr_core_news_sm``) and the recognizers that support French when told
to: e-mail, phone (FR, GB, DE, BE, CH), credit card, IBAN, IP, URL, date, and spaCy's
PERSON and LOCATION; it has no French NIR recognizer and is given none (a team would
write one: it would be ours). tldextract is kept offline (its bundled suffix list).

Run: ``.venv/bin/python bench/redaction.py [--instances 20]`` (about a minute).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.privacy_scan
from results_table import BenchResult, record, table

from lakeguard.identifiers.normalise import fold
from lakeguard.identifiers.words import identifier_words, redact_words
from lakeguard.privacy.detectors import redact_patterns
from lakeguard.samples.absences import HEADER, generate
from lakeguard.samples.adversarial import BENIGN, CLASSES, plant
from tests.privacy_scan import findings

EXTRA_BENIGN = (
    "arret initial", "prolongation", "certificat recu", "temps partiel", "rdv medecin du travail",
    "voyage a Paris pour un mariage", "consultation chez l'avocat le matin",
    "retour de Lyon retarde, train annule", "seance de kine 3 fois par semaine",
    "reprise a mi-temps therapeutique", "formation a Bordeaux en juin", "enfant malade",
    "demenagement", "greve des transports", "convocation au tribunal comme temoin",
)
#: Presidio entities that identify a person (LOCATION alone does not, in an HR comment).
PERSONAL = {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE", "CREDIT_CARD", "DATE_TIME",
            "IP_ADDRESS", "URL", "NRP"}


def cases(instances: int) -> tuple[list[tuple[str, Any]], pa.Array]:
    """Planted comments (text, case) of every class, and the name words of their files."""
    planted, names = [], []
    for seed in range(instances):
        text, found = plant(generate(600, seed=9000 + seed, first=date(2025, 1, 1), days=31),
                            seed=seed)
        rows = [line.split(";") for line in text.splitlines()[1:]]
        comment = HEADER.index("commentaire")
        for case in found:
            if case.expect == "redacted":
                planted.append((rows[case.row - 1][comment], case))
        names += [r[HEADER.index("nom")] for r in rows] + [r[HEADER.index("prenom")] for r in rows]
    return planted, identifier_words(pa.array(names))


def ours(texts: list[str], names: pa.Array) -> tuple[list[str], list[bool]]:
    """lakeguard's redaction of each text, and whether it replaced anything."""
    folded = fold(pa.array(texts, pa.string()))
    redacted = redact_words(redact_patterns(folded), names).to_pylist()
    return redacted, [a != b for a, b in zip(redacted, folded.to_pylist(), strict=True)]


def presidio_engine() -> Any:
    """Presidio's analyzer on spaCy's French model, with the recognizers that speak French."""
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        DateRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        SpacyRecognizer,
        UrlRecognizer,
    )

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    tldextract.extract = offline  # type: ignore[assignment]  # else it fetches the suffix list
    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "fr", "model_name": "fr_core_news_sm"}]}).create_engine()
    registry = RecognizerRegistry(supported_languages=["fr"])
    for recognizer in (EmailRecognizer(supported_language="fr"),
                       PhoneRecognizer(supported_language="fr",
                                       supported_regions=("FR", "GB", "DE", "BE", "CH")),
                       CreditCardRecognizer(supported_language="fr"),
                       IbanRecognizer(supported_language="fr"), IpRecognizer(supported_language="fr"),
                       UrlRecognizer(supported_language="fr"), DateRecognizer(supported_language="fr"),
                       SpacyRecognizer(supported_language="fr")):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=["fr"])


def presidio(engine: Any, texts: list[str]) -> tuple[list[str], list[bool]]:
    """Presidio's redaction of each text (spans replaced by their entity), and any flag."""
    redacted, flagged = [], []
    for text in texts:
        results = engine.analyze(text=text, language="fr")
        out = text
        for result in sorted(results, key=lambda r: r.start, reverse=True):
            out = out[:result.start] + f"[{result.entity_type}]" + out[result.end:]
        redacted.append(out)
        flagged.append(any(r.entity_type in PERSONAL for r in results))
    return redacted, flagged


def evaluate(name: str, run: Any, planted: list[tuple[str, Any]],
             benign: list[str]) -> dict[str, Any]:
    """Recall per class and overall, false positives on benign comments, ms per comment."""
    texts = [t for t, _ in planted]
    start = time.perf_counter()
    redacted, _ = run(texts)
    _, flagged = run(benign)
    seconds = time.perf_counter() - start
    per_class: dict[str, list[bool]] = defaultdict(list)
    for text, (_, case) in zip(redacted, planted, strict=True):
        per_class[case.cls].append(not findings({"x": text}, [case]))
    recall = statistics.fmean(ok for oks in per_class.values() for ok in oks)
    return {"detector": name, "recall": round(recall, 3),
            "false_positive_rate": round(statistics.fmean(flagged), 3),
            "ms_per_comment": round(1000 * seconds / (len(texts) + len(benign)), 3),
            "recall_by_class": {c: round(statistics.fmean(v), 2) for c, v in sorted(per_class.items())}}


def main(instances: int = 20) -> int:
    planted, names = cases(instances)
    benign = list(BENIGN) + list(EXTRA_BENIGN)
    mine = evaluate("lakeguard", lambda texts: ours(texts, names), planted, benign)
    engine = presidio_engine()
    theirs = evaluate("presidio+fr_core_news_sm", lambda texts: presidio(engine, texts), planted,
                      benign)
    details = {"comments_planted": len(planted), "classes": len(CLASSES), "benign": len(benign),
               "lakeguard": mine, "presidio": theirs}
    results = [
        BenchResult("redaction_recall_vs_presidio", mine["recall"], theirs["recall"], "recall",
                    "information only", None, details),
        BenchResult("redaction_false_positives_vs_presidio", mine["false_positive_rate"],
                    theirs["false_positive_rate"], "share", "information only", None,
                    {"benign": benign}),
        BenchResult("redaction_ms_per_comment_vs_presidio", mine["ms_per_comment"],
                    theirs["ms_per_comment"], "ms", "information only", None, {}),
    ]
    for result in results:
        record(result)
    print(table([r.to_json() for r in results]))
    print(f"{'class':<40} lakeguard  presidio")
    for cls in sorted(mine["recall_by_class"]):
        print(f"{cls:<40} {mine['recall_by_class'][cls]:>9}  {theirs['recall_by_class'][cls]:>8}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=20)
    sys.exit(main(parser.parse_args().instances))
