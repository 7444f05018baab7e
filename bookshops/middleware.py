from .location import location_cookie_write


class ReaderLocationCookieMiddleware:
    """Writes the reader's location cookie when a page changed it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        location_cookie_write(request=request, response=response)
        return response
