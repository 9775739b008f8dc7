# -*- coding: latin-1 -*-
# Café menu service (écrit par l'équipe du café)
from bottle import Bottle, run

app = Bottle()


@app.get("/menu")
def menu():
    return {"plats": ["crêpe", "café crème"]}


run(app, host="0.0.0.0", port=8080)
