from fastapi import FastAPI

app = FastAPI(title="orders")


@app.get("/orders/{order_id}")
async def order(order_id: int) -> dict:
    return {"id": order_id, "status": "shipped"}
