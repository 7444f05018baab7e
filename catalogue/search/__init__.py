"""Full-text search over the shared catalogue (filled in by the search engine)."""


def update_index(book_ids):
    """Refresh the search documents of these books."""
