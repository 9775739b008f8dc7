from flask import Flask


class Config:
    HOST = "0.0.0.0"
    PORT = 5000
    JSON_AS_ASCII = False


app = Flask(__name__)
app.config.from_object(Config)


@app.get("/")
def index():
    return {"service": "billing"}


if __name__ == "__main__":
    app.run(host=Config.HOST, port=Config.PORT)
