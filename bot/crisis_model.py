"""The safety net's second reader: a model learnt from the corpus of what patients write.

The patterns of crisis.yaml catch what a clinician has written down. Each fresh set of
phrasings, written by someone who had not seen them, still found new ways of saying the same
things that no pattern covered ("call it quits on life", "made my peace, won't need the next
appointment"). This reader is learnt from every phrasing in content/<lang>/crisis_corpus/
(crisis and not), so a new way of saying a known thing is caught by its resemblance to the
ways already collected. A message is a crisis when the patterns OR this reader say so: it can
only add catches, never hide one.

It is a kept library's plain text classifier (scikit-learn): TF-IDF over letter groups
(which tolerate typos and word endings) and over words and word pairs, then logistic
regression. It learns at start-up from the content (about 2 s), so a phrasing a clinician
adds to the corpus is learnt on the next start; nothing is trained elsewhere or shipped as a
binary. Pure: no Telegram, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Chosen by leaving each corpus file out in turn and learning from the rest (BENCHMARKS.md,
# "The learnt reader"; development.yaml, the bulk of what it learns from, never left out):
# above 0.7, recall 99.4 % and false alarms 5.4 % over the files left out; above 0.6, 99.8 %
# and 7.1 %, the false alarms mostly messages that use crisis words in calm senses.
CRISIS_LIKELIHOOD = 0.7
# Shorter messages are the patterns' alone ("kms", "wanna die" are patterns): a reply of a word
# or three ("no notes", "please", "tonight") carries too little for a resemblance to mean much,
# and the learnt reader once answered such replies as a crisis.
MINIMUM_WORDS = 4
_NUMBER = re.compile(r"(\d+)(?=( ?(mg|mcg|ml|g|milligrams?|micrograms?|units?|iu)\b)?)")


class LearntReader:
    """How likely a message is a crisis, judged by its resemblance to the corpus."""

    def __init__(self, crisis: Sequence[str], not_crisis: Sequence[str]) -> None:
        self._model = _learn(crisis, not_crisis)

    def likelihood(self, reading: str) -> float:
        return float(self._model.predict_proba([reading])[0, 1])

    def is_crisis(self, reading: str, words: int) -> bool:
        """`words`: how many words the message has (a reading may join several readings)."""
        return words >= MINIMUM_WORDS and self.likelihood(reading) > CRISIS_LIKELIHOOD


def _numbers_folded(text: str) -> str:
    """Every count as "2" (one or two: a dose) or "30" (more): "took 30 pills" and "took 45
    pills" are the same message, "took 2 oxycodone" is not. An amount with its unit ("5 mg",
    "500 mg") is a dose, "2"; the digits of a phone number or a date say nothing either way."""
    return _NUMBER.sub(lambda match: "2" if match.group(2) or int(match.group(1)) <= 2 else "30", text)


def _learn(crisis: Sequence[str], not_crisis: Sequence[str]):
    """TF-IDF features and a logistic regression, fitted to the two sides of the corpus."""
    # Imported here: scikit-learn takes most of a second to import, and only this needs it.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    features = make_union(
        # Letter groups inside words: "suicde", "suicidio" and "suicidal" share most of them.
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, preprocessor=_numbers_folded),
        # Words of one letter count too ("i", and "2" for a number).
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, preprocessor=_numbers_folded, token_pattern=r"(?u)\b\w+\b"),
    )
    # Balanced: the corpus holds more crisis phrasings than others; neither side may win by count.
    model = make_pipeline(features, LogisticRegression(C=10, class_weight="balanced", max_iter=3000))
    model.fit([*crisis, *not_crisis], [1] * len(crisis) + [0] * len(not_crisis))
    return model
