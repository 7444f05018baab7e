"""Uploads bounded while they are read: no file beyond ``STOCK_FILE_MAX_BYTES`` reaches a view or the disk whole."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

#: Room for the form's other fields and the multipart boundaries around the file.
FORM_OVERHEAD_BYTES = 64 * 1024


class LimitedUploadHandler(FileUploadHandler):
    """Stops an upload past the limit (sets ``request.upload_too_large``; the view says so on its form)."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.received = 0
        self.too_large = content_length > settings.STOCK_FILE_MAX_BYTES + FORM_OVERHEAD_BYTES

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.too_large or self.received > settings.STOCK_FILE_MAX_BYTES:
            self.request.upload_too_large = True
            # Not read to its end: a client sending gigabytes is cut off at once.
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None
