import os

import uvicorn
from fastapi import FastAPI

app = FastAPI(title="ingest")


@app.post("/events")
async def ingest(event: dict) -> dict:
    return {"accepted": True}


if __name__ == "__main__":
    uvicorn.run(app, host=os.environ.get("APP_HOST", "0.0.0.0"), port=int(os.environ.get("APP_PORT", "8080")))
