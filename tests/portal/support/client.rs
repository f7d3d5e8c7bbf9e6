//! HTTP as a browser or an API client speaks it: clients with a cookie jar that follow no
//! redirects, forms posted with the session's CSRF token, and API requests with their headers.

use std::sync::Arc;

use reqwest::cookie::CookieStore;

use super::harness::TestApp;
use super::pages::csrf_of;

/// A client like a fresh browser: its own cookie jar, no redirects followed, a 30 s timeout.
pub fn client() -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    (client, jar)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_with(&self.client, path).await
    }

    pub async fn get_with(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_html(&self, path: &str) -> String {
        self.get_html_with(&self.client, path).await
    }

    /// A page that must answer 200, as `client` sees it.
    pub async fn get_html_with(&self, client: &reqwest::Client, path: &str) -> String {
        let res = self.get_with(client, path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        res.text().await.unwrap()
    }

    /// The session's CSRF token, read from a page like a browser would.
    pub async fn csrf_with(&self, client: &reqwest::Client) -> String {
        let res = self.get_with(client, "/forgot-password").await;
        if res.status() == 303 {
            // A session that must set up a second factor first sees only that page.
            let res = self.get_with(client, "/account/security").await;
            return csrf_of(&res.text().await.unwrap());
        }
        csrf_of(&res.text().await.unwrap())
    }

    /// Posts a form with the session's CSRF token, as the page's form would.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.post_form_with(&self.client, path, fields).await
    }

    pub async fn post_form_with(
        &self,
        client: &reqwest::Client,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let token = self.csrf_with(client).await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        all.extend_from_slice(fields);
        let res = client
            .post(self.url(path))
            .form(&all)
            .send()
            .await
            .expect("POST");
        if res.headers().get("x-reauthentication").is_none() {
            return res;
        }
        // Sudo mode: the user confirms it's them and the form goes through.
        let html = res.text().await.unwrap();
        self.confirm_sudo(client, path, &html)
            .await
            .expect("a confirm-it's-you page")
    }

    /// Posts without a CSRF token (or with the one given).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    pub fn session_cookie(&self) -> Option<String> {
        let url = self.address.parse().unwrap();
        self.jar
            .cookies(&url)
            .map(|v| v.to_str().unwrap().to_string())
    }
}

/// Sends the request; its status.
pub async fn status_of(req: reqwest::RequestBuilder) -> u16 {
    req.send().await.expect("the API answers").status().as_u16()
}

/// An API request with `Authorization: Bearer <api id>:<secret>`.
pub fn bearer(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    api_id: &str,
    secret: &str,
) -> reqwest::RequestBuilder {
    client
        .request(method, url)
        .header("Authorization", format!("Bearer {api_id}:{secret}"))
}

/// A response's status, `X-RateLimit-*` headers and JSON body.
pub async fn api_json(res: reqwest::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ct.starts_with("application/json"), "JSON, not {ct:?}");
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(res.headers().contains_key(h), "{h} on a {status}");
    }
    (status, res.json().await.expect("a JSON body"))
}

impl TestApp {
    /// Whether `Bearer <api id>:<secret>` is accepted now, asked of the running API. A refusal
    /// must be the documented one: 401, `WWW-Authenticate`, the JSON error and rate headers.
    pub async fn credentials_valid(&self, api_id: &str, secret: &str) -> bool {
        let res = client()
            .0
            .get(self.url("/api/v1/me"))
            .header("Authorization", format!("Bearer {api_id}:{secret}"))
            .send()
            .await
            .expect("the API answers");
        let challenge = res
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap_or("").to_string());
        let (status, body) = api_json(res).await;
        match status {
            200 => true,
            401 => {
                assert_eq!(
                    body,
                    serde_json::json!({"error": "Invalid API credentials"})
                );
                assert!(
                    challenge.as_deref().is_some_and(|c| c.contains("Bearer")),
                    "WWW-Authenticate on a 401: {challenge:?}"
                );
                false
            }
            other => panic!("GET /api/v1/me answered {other}: {body}"),
        }
    }
}
