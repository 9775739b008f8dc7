c = get_config()  # noqa: F821

c.ServerApp.ip = "localhost"
c.ServerApp.token = ""
c.ServerApp.password = ""
c.ServerApp.open_browser = True
