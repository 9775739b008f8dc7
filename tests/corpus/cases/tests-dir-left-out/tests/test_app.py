from app import app


def test_index():
    client = app.test_client()
    assert client.get("/").data == b"ok"


if __name__ == "__main__":
    app.run(host="0.0.0.0", debug=True)
