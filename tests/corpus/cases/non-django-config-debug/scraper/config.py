"""Settings for the price scraper (plain constants, read by scraper/main.py)."""

DEBUG = True
LOG_LEVEL = "DEBUG" if DEBUG else "INFO"
USER_AGENT = "price-bot/0.3 (+https://example.org/bot)"
START_URLS = ["https://example.org/catalog?page=1"]
CONCURRENCY = 4
