c = get_config()  # noqa: F821

c.ServerApp.ip = "*"
c.ServerApp.port = 8888
c.ServerApp.token = ""
c.ServerApp.password = ""
c.ServerApp.open_browser = False
c.LabApp.default_url = "/lab"
