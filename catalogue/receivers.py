"""What the catalogue does when a shop joins or leaves the network (``bookshops.signals``)."""

from django.dispatch import receiver

from bookshops.signals import shop_membership_changed

from .search import shop_availability_refresh


@receiver(shop_membership_changed, dispatch_uid="catalogue.shop_membership_changed")
def _on_shop_membership_changed(sender, *, shop_id: int, **kwargs):
    shop_availability_refresh(shop_id=shop_id)
