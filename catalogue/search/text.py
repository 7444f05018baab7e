"""Text handling shared by both engines: one normalisation for documents, vocabulary and queries."""

import re
import unicodedata

#: Letters and digits; everything else (punctuation, FTS operators, emoji, NUL) separates words.
_WORD = re.compile(r"[^\W_]+")
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

#: Longest query kept, in characters, and most words searched.
MAX_QUERY_LENGTH = 200
MAX_WORDS = 12
#: Longest vocabulary word (SearchWord.word) and shortest word a typo is corrected in.
MAX_WORD_LENGTH = 60
MIN_TYPO_LENGTH = 5

#: Ligatures NFKD leaves whole, written out before it (``normalize``).
LIGATURES = {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"}
#: The combining marks NFKD splits off the letters ``SQL_SAFE_CHARACTERS`` holds.
COMBINING_MARKS = "\u0300-\u036f"
_LIGATURE_TABLE = str.maketrans(LIGATURES)


def normalize(text: str) -> str:
    """Lower-case ``text`` and strip its accents: ``Œuvres d'Aliénor`` → ``oeuvres d'alienor``."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURE_TABLE))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(text: str) -> list[str]:
    """The normalised words of ``text``, in order."""
    return _WORD.findall(normalize(text))


def _sql_steps(text: str) -> str:
    """What the SQL twin of ``index_text`` does (``postgres.index_text_sql``), step by step, in Python."""
    for ligature, letters in LIGATURES.items():
        text = text.replace(ligature, letters)
    text = re.sub(f"[{COMBINING_MARKS}]", "", unicodedata.normalize("NFKD", text)).lower()
    return " ".join(re.sub("[^a-z0-9]+", " ", text).split())


def _sql_safe_characters() -> str:
    """The characters (Latin scripts, usual punctuation) whose words the SQL twin of ``index_text`` finds alike.

    Their letters end as ASCII once accents are stripped; a text holding any
    other character (Greek, Cyrillic, CJK…) is indexed by the Python builder.
    """
    candidates = [chr(c) for c in [9, 10, 13, *range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x2010, 0x2050), 0x20AC]]
    return "".join(
        c for c in candidates if all(_sql_steps(t) == " ".join(words(t)) for t in (c, f"a{c}b", f"A{c}{c}9"))
    )


SQL_SAFE_CHARACTERS = _sql_safe_characters()


def query_words(query: str) -> list[str]:
    """The words a reader's query searches for, bounded in number and length."""
    return [w[:MAX_WORD_LENGTH] for w in words(query[: MAX_QUERY_LENGTH * 2])][:MAX_WORDS]


def edits1(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away from ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    transposes = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in ALPHABET}
    inserts = {a + c + b for a, b in splits for c in ALPHABET}
    return (deletes | transposes | replaces | inserts) - {word}
