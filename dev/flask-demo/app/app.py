# The Flask demo behind keygate (npm run demo:flask): gunicorn serves it on the loopback socket keygate hands
# over as fd 3; keygate holds the TLS key and the vault's answer, this app holds neither.
from flask import Flask, request
from markupsafe import escape

app = Flask(__name__)


@app.route("/")
@app.route("/hello")
def hello():
    name = request.args.get("name", "ops")
    # X-Forwarded-For is keygate's own (the client's copies are dropped), so it can be trusted here.
    return (
        "<!doctype html><title>keygate + Flask</title>"
        f"<h1>Hello from Flask, {escape(name)}</h1>"
        f"<p>Served by gunicorn behind keygate's TLS for {escape(request.headers.get('X-Forwarded-For', '?'))}.</p>\n"
    )


@app.route("/healthz")
def healthz():
    return "ok\n"
