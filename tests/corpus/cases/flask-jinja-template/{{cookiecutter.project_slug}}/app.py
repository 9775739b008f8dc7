"""{{ cookiecutter.project_name }}: {{ cookiecutter.description }}"""
from flask import Flask
{% if cookiecutter.use_cors == "y" %}
from flask_cors import CORS
{% endif %}

app = Flask(__name__)
{% if cookiecutter.use_cors == "y" %}
CORS(app)
{% endif %}


@app.route("/")
def index():
    return "{{ cookiecutter.project_name }}"


if __name__ == "__main__":
    app.run(host="0.0.0.0", port={{ cookiecutter.port }})
