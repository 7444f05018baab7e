class ShopFileError(Exception):
    """A member-shops file cannot be read at all; nothing was changed."""


class GeocodingFailed(Exception):
    """No coordinates were found for an address."""

    def __init__(self, address: str, reason: str = ""):
        self.address = address
        self.reason = reason
        super().__init__(f"{address}: {reason}" if reason else address)
