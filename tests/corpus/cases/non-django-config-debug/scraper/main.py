from scraper import config


def run():
    print("debug" if config.DEBUG else "quiet", config.START_URLS)
