//! The user's story in steps, each as the user would do it over HTTP (accounts are created
//! through the same code the CLI uses): sign in, request access and confirm it, approve a
//! developer, create an organization with its admin, accept invitations, authorize an
//! integration.

use concat_portal::auth::accounts::create_admin_cli;
use concat_portal::auth::password;
use concat_portal::clock::Clock;
use concat_portal::db;
use concat_portal::domain::{DisplayName, EmailAddress, NewPassword};
use concat_portal::email::SentEmail;

use super::client::client;
use super::harness::TestApp;
use super::pages::{api_id_in, find_link, first_authorization_id, path_of, secret_in};

pub const PASSWORD: &str = "a long and unusual passphrase";

pub const ADMIN_EMAIL: &str = "ada@concat.test";

/// A developer whose access was approved and who revealed the first secret.
pub struct Developer {
    pub client: reqwest::Client,
    pub api_id: String,
    pub secret: String,
    pub integration_id: String,
    pub account_id: String,
}

/// An approved developer whose integration an organization authorized.
pub struct ApiFixture {
    pub dev: Developer,
    pub org: String,
    pub olga: reqwest::Client,
    pub auth_id: String,
}

/// A valid "request access" form; tests override single fields.
pub fn access_form(email: &str, overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = [
        ("name", "Dana Developer"),
        ("company", "Ticketly Ltd"),
        ("website", "https://ticketly.example"),
        ("email", email),
        ("phone", "+44 20 7946 0000"),
        ("app_name", "Ticketly Sync"),
        (
            "use_case",
            "We sync ticket sales from ConCat events into our box-office system.",
        ),
        ("customers", "Acme Events\nGlobex Conferences"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in overrides {
        if let Some(f) = fields.iter_mut().find(|(name, _)| name == k) {
            f.1 = v.to_string();
        }
    }
    fields
}

impl TestApp {
    pub async fn create_admin(&self, email: &str, name: &str) {
        self.create_admin_with_password(email, name, PASSWORD).await;
    }

    pub async fn create_admin_with_password(&self, email: &str, name: &str, pw: &str) {
        self.insert_user(email, name, pw, true).await;
    }

    /// Inserts a user through the same code the CLI and the invitation flow use.
    async fn insert_user(&self, email: &str, name: &str, pw: &str, admin: bool) -> String {
        use concat_portal::auth::accounts::insert_user;
        let pw = NewPassword::parse(pw).unwrap();
        let hash = tokio::task::spawn_blocking(move || password::hash_now(&pw))
            .await
            .unwrap()
            .unwrap();
        let (email, name) = (
            EmailAddress::parse(email).unwrap(),
            DisplayName::parse(name).unwrap(),
        );
        let now = self.clock.now_naive();
        db::run(&self.pool, move |c| {
            if admin {
                Ok(create_admin_cli(c, &email, &name, &hash, now)?.id)
            } else {
                Ok(insert_user(c, &email, &name, Some(&hash), false, now)?.id)
            }
        })
        .await
        .unwrap()
    }

    pub async fn login_with(
        &self,
        client: &reqwest::Client,
        email: &str,
        pw: &str,
    ) -> reqwest::Response {
        let res = self
            .post_form_with(client, "/login", &[("email", email), ("password", pw)])
            .await;
        self.after_password(client, email, res).await
    }

    pub async fn login(&self, email: &str, pw: &str) -> reqwest::Response {
        self.login_with(&self.client, email, pw).await
    }

    /// Signs in and checks it worked.
    pub async fn login_ok(&self, email: &str) {
        let res = self.login(email, PASSWORD).await;
        assert_eq!(res.status(), 303, "login of {email} failed");
    }

    /// A user who is not a ConCat admin (later issues attach such users to accounts and orgs).
    pub async fn create_user(&self, email: &str, name: &str) -> String {
        self.insert_user(email, name, PASSWORD, false).await
    }
}

impl TestApp {
    /// Submits the request form only: the request stays unconfirmed (invisible to admins).
    pub async fn submit_access_request(
        &self,
        client: &reqwest::Client,
        email: &str,
        overrides: &[(&str, &str)],
    ) -> reqwest::Response {
        let fields = access_form(email, overrides);
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post_form_with(client, "/request-access", &refs).await
    }

    /// The confirmation link (a path) of the newest "we received your request" email to
    /// `email` that is still in the outbox (read there, so the test still receives the email).
    pub async fn confirmation_link(&self, email: &str) -> String {
        let row = self
            .unsent()
            .await
            .into_iter()
            .filter(|r| r.kind == "access_request_received" && r.recipient == email)
            .max_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)))
            .expect("a confirmation email in the outbox");
        path_of(&find_link(&row.body_text, "/access-requests/confirm/"))
    }

    /// Opens a confirmation link and presses "Confirm request"; returns the POST's response.
    pub async fn confirm_access_request(
        &self,
        client: &reqwest::Client,
        link: &str,
    ) -> reqwest::Response {
        let page = self.get_with(client, link).await;
        assert_eq!(page.status(), 200, "the confirmation page");
        assert!(page.text().await.unwrap().contains("Confirm request"));
        self.post_form_with(client, link, &[]).await
    }

    /// Submits the request form and, when it was accepted, confirms it through the link in the
    /// email, as the requester would; returns the form's response.
    pub async fn request_access_with(
        &self,
        client: &reqwest::Client,
        email: &str,
        overrides: &[(&str, &str)],
    ) -> reqwest::Response {
        let res = self.submit_access_request(client, email, overrides).await;
        if res.status() == 200 {
            let link = self.confirmation_link(email).await;
            let confirmed = self.confirm_access_request(client, &link).await;
            assert_eq!(confirmed.status(), 200, "confirming the request");
        }
        res
    }

    /// A signed-in ConCat admin client (creating the admin on first use).
    pub async fn admin(&self) -> reqwest::Client {
        use concat_portal::db::models::users;
        let exists = db::run(&self.pool, |c| Ok(users::find_by_email(c, ADMIN_EMAIL)?))
            .await
            .unwrap()
            .is_some();
        if !exists {
            self.create_admin(ADMIN_EMAIL, "Ada").await;
        }
        let (admin, _) = client();
        assert_eq!(
            self.login_with(&admin, ADMIN_EMAIL, PASSWORD)
                .await
                .status(),
            303
        );
        admin
    }

    /// Request → approve → welcome link → password → the secret, all over HTTP. Consumes the
    /// emails this produces.
    pub async fn approved_developer(&self, email: &str, company: &str) -> Developer {
        let (dev, _) = client();
        let res = self
            .request_access_with(
                &dev,
                email,
                &[
                    ("company", company),
                    ("app_name", &format!("{company} App")),
                ],
            )
            .await;
        assert_eq!(res.status(), 200, "request access");
        let admin = self.admin().await;
        let id = self.request_id_for(email).await;
        assert_eq!(
            self.post_form_with(&admin, &format!("/admin/requests/{id}/approve"), &[])
                .await
                .status(),
            303
        );
        let mut welcome = None;
        for e in self.deliver_emails().await {
            if e.to == email && e.kind == "access_approved" {
                welcome = Some(path_of(&find_link(&e.text, "/welcome/")));
            }
        }
        let welcome = welcome.expect("an approval email");
        let page = self
            .post_form_with(
                &dev,
                &welcome,
                &[("password", PASSWORD), ("confirm", PASSWORD)],
            )
            .await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let secret = secret_in(&html).expect("the secret is shown");
        let api_id = api_id_in(&html);
        let (integration_id, account_id) = self.integration_of(&api_id).await;
        Developer {
            client: dev,
            api_id,
            secret,
            integration_id,
            account_id,
        }
    }
}

impl TestApp {
    /// Creates an organization through the admin page and returns its public ID, with its first
    /// admin signed in.
    pub async fn org_with_admin(&self, name: &str, email: &str) -> (String, reqwest::Client) {
        let admin = self.admin().await;
        let invite = self.create_org(&admin, name, email).await;
        let page = self
            .get_with(&admin, "/admin/organizations")
            .await
            .text()
            .await
            .unwrap();
        let at = page.find(name).expect("listed");
        let public_id = page[at..][page[at..].find("org_").unwrap()..][..20].to_string();
        assert!(invite.text.contains(&format!("an administrator of {name}")));
        let client = self.accept_invitation(&invite).await;
        assert_eq!(
            self.login_with(&client, email, PASSWORD).await.status(),
            303
        );
        (public_id, client)
    }
}

impl TestApp {
    /// A ConCat admin (`admin`, signed in) creates an organization whose first admin is
    /// `email` ("Olga Org"); returns the invitation email sent to her.
    pub async fn create_org(&self, admin: &reqwest::Client, name: &str, email: &str) -> SentEmail {
        let res = self
            .post_form_with(
                admin,
                "/admin/organizations",
                &[
                    ("name", name),
                    ("admin_name", "Olga Org"),
                    ("admin_email", email),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "organization {name} created");
        self.one_email_to(email).await
    }

    /// Follows an invitation email's set-password link (someone without an account) in a new
    /// client, choosing `PASSWORD`, which creates the account and accepts.
    pub async fn accept_invitation(&self, invite: &SentEmail) -> reqwest::Client {
        let (client, _) = client();
        let link = path_of(&find_link(&invite.text, "/set-password/"));
        let res = self
            .post_form_with(
                &client,
                &link,
                &[("password", PASSWORD), ("confirm", PASSWORD)],
            )
            .await;
        assert_eq!(
            res.status(),
            303,
            "setting the password through the invitation"
        );
        client
    }

    /// Someone with an account accepts an invitation: `client` is signed in as the invited
    /// email; opens the link and presses Accept. Returns the POST's response.
    pub async fn accept_invitation_as(
        &self,
        client: &reqwest::Client,
        invite: &SentEmail,
    ) -> reqwest::Response {
        let link = path_of(&find_link(&invite.text, "/invitations/"));
        let page = self.get_with(client, &link).await;
        assert_eq!(page.status(), 200, "the invitation page");
        assert!(page.text().await.unwrap().contains("Accept invitation"));
        self.post_form_with(client, &link, &[]).await
    }
}

impl TestApp {
    /// Authorizes `api_id` for the organization with the given scopes (`events_read`,
    /// `events_write`), reads the developer's email, and returns the authorization id.
    pub async fn authorize(
        &self,
        org_admin: &reqwest::Client,
        org: &str,
        api_id: &str,
        scopes: &[&str],
        developer_email: &str,
    ) -> String {
        let page = format!("/org/{org}/integrations");
        let mut fields = vec![("api_id", api_id)];
        fields.extend(scopes.iter().map(|s| (*s, "on")));
        let res = self
            .post_form_with(org_admin, &format!("{page}/authorize"), &fields)
            .await;
        assert_eq!(res.status(), 303, "authorized");
        self.one_email_to(developer_email).await;
        let listing = self.get_with(org_admin, &page).await.text().await.unwrap();
        let at = listing.find(api_id).expect("listed");
        first_authorization_id(&listing[at..])
    }

    /// Dana of Ticketly, authorized by Acme Events (Olga) with `scopes`.
    pub async fn api_fixture(&self, scopes: &[&str]) -> ApiFixture {
        let dev = self
            .approved_developer("dana@ticketly.example", "Ticketly")
            .await;
        let (org, olga) = self
            .org_with_admin("Acme Events", "olga@acme.example")
            .await;
        let auth_id = self
            .authorize(&olga, &org, &dev.api_id, scopes, "dana@ticketly.example")
            .await;
        ApiFixture {
            dev,
            org,
            olga,
            auth_id,
        }
    }
}
