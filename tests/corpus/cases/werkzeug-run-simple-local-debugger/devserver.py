from werkzeug.serving import run_simple

from project.wsgi import application

if __name__ == "__main__":
    run_simple("localhost", 5000, application, use_debugger=True, use_reloader=True)
