import argparse

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/predict")
async def predict(x: float) -> dict:
    return {"y": 2 * x + 1}


def main() -> None:
    parser = argparse.ArgumentParser(description="model server")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, workers=args.workers)


if __name__ == "__main__":
    main()
