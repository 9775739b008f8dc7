# Configuration file for jupyter-notebook.
c = get_config()  # noqa: F821

c.NotebookApp.ip = '*'
c.NotebookApp.port = 9999
c.NotebookApp.open_browser = False
c.NotebookApp.token = ''
c.NotebookApp.password = ''
c.NotebookApp.notebook_dir = '/srv/notebooks'
