from django.conf import settings

from .location import LOCATION_PARAMS, get_location_state


def location(request):
    """The reader's location and the location control's state, for every template."""
    state = get_location_state(request)
    carried = [(key, value) for key, values in request.GET.lists() if key not in LOCATION_PARAMS for value in values]
    return {
        "reader_location": state.location,
        "location_state": state,
        "location_carried_params": carried,
        "location_radius_choices": settings.LOCATION_RADIUS_CHOICES,
        "location_default_radius": settings.LOCATION_DEFAULT_RADIUS_KM,
    }
