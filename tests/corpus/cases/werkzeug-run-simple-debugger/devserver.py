from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response


@Request.application
def application(request: Request) -> Response:
    return Response(f"Hello {request.args.get('name', 'World')}!")


if __name__ == "__main__":
    run_simple("0.0.0.0", 5000, application, use_debugger=True, use_reloader=True)
