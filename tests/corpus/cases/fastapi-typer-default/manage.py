import typer
import uvicorn

cli = typer.Typer()


@cli.command()
def run(
    host: str = typer.Option("0.0.0.0", help="Interface to listen on"),
    port: int = typer.Option(8000),
) -> None:
    uvicorn.run("backend.app:app", host=host, port=port)


@cli.command()
def migrate() -> None:
    typer.echo("migrating...")


if __name__ == "__main__":
    cli()
