c = get_config()  # noqa: F821

c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = 8888
c.ServerApp.open_browser = False
c.ServerApp.token = ""
c.ServerApp.allow_remote_access = True
c.ServerApp.root_dir = "/home/ds/notebooks"
