from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI

api = FastAPI()


@api.get("/")
def root():
    return {"ok": True}


def main(
    host: Annotated[str, typer.Option(help="bind address")] = "0.0.0.0",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    uvicorn.run(api, host=host, port=port)


if __name__ == "__main__":
    typer.run(main)
