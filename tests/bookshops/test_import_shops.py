import pytest
from django.core.management import CommandError, call_command
from stdnum import luhn

from bookshops.models import CoordinatesSource, Shop
from bookshops.services import shops_import
from tests.factories import ShopFactory

GOOD_SIRET = "73282932000074"


def siret_for(siren_body: str, nic: str = "0001") -> str:
    siren = siren_body + luhn.calc_check_digit(siren_body)
    body = siren + nic
    return body + luhn.calc_check_digit(body)


HEADER = "Nom;Adresse;Code postal;Ville;Téléphone;E-mail;Site web;SIRET;Latitude;Longitude\n"


def test_creates_shops_and_geocodes_those_without_coordinates(db):
    data = (
        HEADER
        + "Librairie Montaigne;2 rue Montaigne;24100;Bergerac;05 53 00 00 00;contact@montaigne.example;montaigne.example;732 829 320 00074;;\n"
        + "La Mouette;1 quai;40100;Dax;;;;;43,7;-1,05\n"
    ).encode("cp1252")
    report = shops_import(data=data)
    assert (report.encoding, report.delimiter, report.rows_read) == ("windows-1252", ";", 2)
    assert report.created == ["librairie-montaigne", "la-mouette"] and report.problems == []
    montaigne = Shop.objects.get(slug="librairie-montaigne")
    assert (montaigne.latitude, montaigne.longitude) == (44.8516, 0.4817)
    assert montaigne.coordinates_source == CoordinatesSource.GEOCODER
    assert montaigne.siret == GOOD_SIRET
    assert montaigne.department == "24"
    assert montaigne.website == "https://montaigne.example"
    mouette = Shop.objects.get(slug="la-mouette")
    assert (mouette.latitude, mouette.longitude, mouette.coordinates_source) == (43.7, -1.05, CoordinatesSource.FILE)


def test_bad_siret_and_other_bad_rows_are_reported_by_line_and_change_nothing(db):
    existing = ShopFactory(name="Le Passeur", siret=GOOD_SIRET, postcode="24000", town="Périgueux")
    data = (
        "nom,code postal,ville,siret,courriel\n"
        "Le Passeur,24000,Périgueux,73282932000075,\n"  # wrong check digit
        "\n"
        "Sans Siret Valide,40000,Mont-de-Marsan,1234,\n"
        "Courriel Cassé,40000,Mont-de-Marsan,,pas-un-mail\n"
        ",40000,Mont-de-Marsan,,\n"
        f"Bonne Ligne,40000,Mont-de-Marsan,{siret_for('55210055')},\n"
    ).encode()
    report = shops_import(data=data)
    errors = {p["line"]: p["error"] for p in report.problems if p["level"] == "error"}
    assert sorted(errors) == [2, 4, 5, 6]
    assert errors[2] == "SIRET invalide (73282932000075) : clé de contrôle incorrecte"
    assert errors[4] == "SIRET invalide (1234) : il faut 14 chiffres"
    assert "e-mail invalide" in errors[5]
    assert "nom manquant" in errors[6]
    assert report.created == ["bonne-ligne"]
    existing.refresh_from_db()
    assert existing.siret == GOOD_SIRET
    assert not Shop.objects.filter(name__in=["Sans Siret Valide", "Courriel Cassé"]).exists()


def test_updates_by_slug_or_name_and_keeps_hand_corrected_coordinates(db):
    by_slug = ShopFactory(slug="la-machine-a-lire", name="Ancien nom", postcode="33000", town="Bordeaux")
    by_name = ShopFactory(
        name="Librairie Georges", phone="", latitude=45.0, longitude=-0.5, coordinates_source=CoordinatesSource.MANUAL
    )
    data = (
        "identifiant\tnom\tcode postal\tville\ttel\n"
        "la-machine-a-lire\tLa Machine à Lire\t33000\tBordeaux\t\n"
        "\tLibrairie Georges\t33400\tTalence\t05 56 04 68 00\n"
        "\tLibrairie Georges\t33400\tTalence\t05 56 04 68 00\n"
    ).encode("utf-16")
    report = shops_import(data=data)
    assert report.delimiter == "\t"
    assert report.updated == ["la-machine-a-lire", by_name.slug]
    assert report.unchanged == [by_name.slug]
    by_slug.refresh_from_db()
    by_name.refresh_from_db()
    assert by_slug.name == "La Machine à Lire"
    assert by_slug.phone == "05 56 00 00 00"  # a blank cell keeps what was there
    assert (by_name.town, by_name.phone) == ("Talence", "05 56 04 68 00")
    assert (by_name.latitude, by_name.longitude) == (45.0, -0.5)  # typed by hand: never re-geocoded


def test_unknown_address_is_a_warning_not_a_loss(db):
    report = shops_import(data=b"Nom;Ville\nLa Librairie Perdue;Trifouillis-les-Oies\n")
    assert report.created == ["la-librairie-perdue"]
    assert report.problems[0]["level"] == "warning"
    assert "coordonnées à saisir" in report.problems[0]["error"]
    assert not Shop.objects.get(slug="la-librairie-perdue").has_coordinates


def test_command_prints_the_report_and_refuses_unreadable_files(db, tmp_path, capsys):
    good = tmp_path / "adherents.csv"
    good.write_bytes(
        f"Nom;Code postal;Ville;SIRET\nLibrairie Lafitte;40000;Mont-de-Marsan;{GOOD_SIRET}\nX;40000;Dax;42\n".encode(
            "cp1252"
        )
    )
    call_command("import_shops", str(good))
    out = capsys.readouterr().out
    assert "créées 1" in out and "rejetées 1" in out
    assert "ligne 3: ERREUR: SIRET invalide (42)" in out

    excel = tmp_path / "adherents.xlsx"
    excel.write_bytes(b"PK\x03\x04rest-of-a-zip")
    with pytest.raises(CommandError, match="classeur Excel"):
        call_command("import_shops", str(excel))
    no_name = tmp_path / "sans-nom.csv"
    no_name.write_bytes(b"Ville;CP\nDax;40100\n")
    with pytest.raises(CommandError, match="colonne « Nom »"):
        call_command("import_shops", str(no_name))
    assert Shop.objects.count() == 1
