"""The address pass Culture posts its booking notifications to (set with ``manage.py passculture_venues``)."""

import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .services import NotificationRefused, notification_handle, notification_payload

logger = logging.getLogger(__name__)

#: pass Culture's notifications are small; anything larger is not one.
MAX_BODY = 64 * 1024


@csrf_exempt
@require_POST
def notification(request):
    """A booking (``BOOK``) or a cancellation (``CANCEL``) of an offer: its bookings are read again."""
    if len(request.body) > MAX_BODY:
        return JsonResponse({"error": "too_large"}, status=413)
    try:
        data = notification_payload(body=request.body, signature=request.headers.get("PassCulture-Signature", ""))
    except NotificationRefused as exc:
        logger.warning("pass Culture notification refused: %s", exc)
        return JsonResponse({"error": "refused", "message": str(exc)}, status=exc.status)
    known = notification_handle(data=data)
    return JsonResponse({"status": "accepted" if known else "ignored"})
