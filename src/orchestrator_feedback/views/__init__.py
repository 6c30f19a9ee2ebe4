"""What people look at: Prometheus metrics read from the store at scrape time."""
