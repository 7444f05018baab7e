from django.utils import translation

from bookshops.templatetags.bookshops_tags import km


def test_distances_read_as_a_reader_says_them():
    with translation.override("fr"):
        assert km(0.2) == "moins d'un km"
        assert km(2.46) == "2,5 km"
        assert km(41.5) == "42 km"
        assert km(None) == ""
