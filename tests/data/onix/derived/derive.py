"""Make the derived ONIX files of this folder from the real ones beside it (run: python derive.py).

Every derived file starts from real records and changes only what its name says.
"""

import html.entities
import re
from pathlib import Path

HERE = Path(__file__).parent
IM = HERE.parent / "im_onix"


def products(path: Path) -> list[str]:
    """The <Product> elements of a real im_onix file, namespace declarations dropped."""
    text = path.read_text(encoding="utf-8")
    found = re.findall(r"<Product[ >].*?</Product>", text, flags=re.S)
    return [re.sub(r'<Product xmlns="[^"]*"', "<Product", p) for p in found]


def message(parts: list[str], header: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<ONIXMessage release="3.0">\n'
        + header
        + "\n"
        + "\n".join(parts)
        + "\n</ONIXMessage>\n"
    )


HEADER = "<Header><Sender><SenderName>immatériel·fr</SenderName></Sender><SentDateTime>20130318</SentDateTime></Header>"


def french_feed_cp1252():
    """Real records written in Windows-1252 while the declaration still says UTF-8.

    The French Phébus record (accents from its first lines) comes first, then the 21
    products of the Macmillan feed (jonix/onix3-multiple.xml): all must come through.
    """
    parts = products(IM / "9782752906700.xml") + products(HERE.parent / "jonix" / "onix3-multiple.xml")
    text = message(parts, HEADER)
    (HERE / "french_feed_cp1252_declared_utf8.xml").write_bytes(text.encode("cp1252", errors="xmlcharrefreplace"))


def _entities(value: str) -> str:
    return "".join(
        f"&{html.entities.codepoint2name[ord(c)]};" if ord(c) > 127 and ord(c) in html.entities.codepoint2name else c
        for c in value
    )


def entities_only_summary():
    """The Phébus record, its summary's markup removed and every accent written as an HTML entity."""
    text = (IM / "9782752906700.xml").read_text(encoding="utf-8")

    def plain(match):
        body = match.group(2).replace("&lt;/p&gt;", "\n").replace("&lt;br/&gt;", "\n")
        body = re.sub(r"&lt;.*?&gt;", "", body)
        body = body.replace("&amp;", "&")
        return match.group(1) + _entities(body).replace("&", "&amp;") + match.group(3)

    text = re.sub(r"(<TextType>03</TextType>.*?<Text>)(.*?)(</Text>)", plain, text, count=1, flags=re.S)
    (HERE / "entities_only_summary.xml").write_text(text, encoding="utf-8")


def deletion_notice():
    """The Phébus record re-sent as a deletion (NotificationType 03 → 05)."""
    text = (IM / "9782752906700.xml").read_text(encoding="utf-8")
    book = next(p for p in products(IM / "9782752906700.xml") if re.search(r"<IDValue>9782752908643<", p[:600]))
    book = book.replace("<NotificationType>03</NotificationType>", "<NotificationType>05</NotificationType>")
    header = re.search(r"<Header>.*?</Header>", text, flags=re.S).group(0)
    (HERE / "deletion_notice.xml").write_text(message([book], header), encoding="utf-8")


#: One ONIX list 17 code per role the portal tells apart, with the person credited.
ROLES = [
    ("A01", "Maj Sjöwall"),
    ("B06", "Lois Roth"),
    ("A12", "Jean Dupont"),
    ("A13", "Marie Curie-Martin"),
    ("B01", "Henning Mankell"),
    ("A15", "Per Wahlöö"),
    ("A19", "Anne Postface"),
    ("B05", "Paul Adapte"),
    ("E07", "Claire Lecture"),
    ("Z01", "Zoé Assistante"),
    ("A24", "Ian Introduction"),
    ("B09", "Serge Série"),
]


def every_contributor_role():
    """The Roseanna record (im_onix full_sample), its credits replaced by one contributor per role."""
    text = (IM / "full_sample.xml").read_text(encoding="utf-8")
    people = "".join(
        f"<Contributor><SequenceNumber>{n}</SequenceNumber><ContributorRole>{code}</ContributorRole>"
        f"<PersonName>{name}</PersonName></Contributor>"
        for n, (code, name) in enumerate(ROLES, start=1)
    )
    text = re.sub(r"<Contributor>.*</Contributor>", people, text, count=1, flags=re.S)
    (HERE / "every_contributor_role.xml").write_text(text, encoding="utf-8")


def audio_download():
    """im_onix's anonymised audio download record (AJ, MP3) with its ISBN given a valid check digit."""
    text = (IM / "audio1.xml").read_text(encoding="utf-8").replace("9780000000000", "9780000000002")
    (HERE / "audio_download.xml").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    audio_download()
    french_feed_cp1252()
    entities_only_summary()
    deletion_notice()
    every_contributor_role()
