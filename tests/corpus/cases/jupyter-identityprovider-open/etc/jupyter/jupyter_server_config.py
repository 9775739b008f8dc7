c = get_config()  # noqa: F821

c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = 8888
c.IdentityProvider.token = ""
c.ServerApp.disable_check_xsrf = True
