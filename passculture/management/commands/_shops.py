from django.core.management.base import CommandError

from bookshops.models import Shop


def shops_selected(slugs: list[str]) -> list[Shop]:
    """The named shops (all must exist), or every shop whose stock goes to pass Culture."""
    if not slugs:
        return list(Shop.objects.filter(passculture_enabled=True).order_by("slug"))
    shops = {shop.slug: shop for shop in Shop.objects.filter(slug__in=slugs)}
    unknown = [slug for slug in slugs if slug not in shops]
    if unknown:
        raise CommandError(f"Librairie inconnue : {', '.join(unknown)}")
    return [shops[slug] for slug in slugs]


def run_report(run) -> str:
    lines = [f"{run.shop.slug} · {run.get_kind_display()} · {run.get_status_display()} · {run.message}"]
    lines += [f"  {ean} : {reason}" for ean, reason in sorted(run.rejected.items())]
    lines += [f"  ! {line}" for line in run.errors.splitlines() if line]
    return "\n".join(lines)
