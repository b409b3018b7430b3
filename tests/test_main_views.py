"""The start page, /healthz, error pages as pages and as htmx toasts."""
from __future__ import annotations

from careboard import create_app


def test_healthz_reports_app_and_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["app"] == "ok" and body["database"] == "ok"


def test_healthz_answers_503_when_the_database_is_down(app_config, tmp_path):
    broken = type("Broken", (app_config,), {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing-dir/nope.sqlite"})
    app = create_app(broken)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"].startswith("error")


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


def test_home_sends_staff_to_their_cards(client, auth, people):
    auth.login("sales1")
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/board/mine"


def test_404_is_a_friendly_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "未找到" in html and "返回首页" in html


def test_errors_come_back_as_a_toast_for_htmx(client, auth, people):
    auth.login("sales1")
    response = client.get("/admin/users", headers={"HX-Request": "true", "HX-Target": "main"})
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == "#toasts"
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div class="toast') and "无权操作" in html


def test_413_for_a_body_that_is_too_large(client, app):
    response = client.post("/login", data={"username": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)})
    assert response.status_code == 413
    assert "文件过大" in response.get_data(as_text=True)


def test_500_rolls_back_and_shows_a_friendly_page(app_config):
    app = create_app(app_config)
    from careboard import policy

    @policy.public
    def explode():
        raise RuntimeError("boom")

    app.add_url_rule("/explode", view_func=explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    response = client.get("/explode")
    assert response.status_code == 500
    assert "服务器出错" in response.get_data(as_text=True)
    toast = client.get("/explode", headers={"HX-Request": "true"})
    assert toast.status_code == 500 and toast.headers["HX-Retarget"] == "#toasts"


def test_pages_send_vary_hx_request(client):
    assert "HX-Request" in client.get("/no/such").headers.get("Vary", "")
