import click
import uvicorn

from service.api import app


@click.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to bind.")
@click.option("--port", default=9000, show_default=True, type=int)
@click.option("--reload/--no-reload", default=False)
def serve(host: str, port: int, reload: bool) -> None:
    """Start the API server."""
    uvicorn.run(app, host=host, port=port, reload=reload)


if __name__ == "__main__":
    serve()
