//! The REST API as its clients use it: a GuestGuard of its own (fresh database on the
//! binary's shared services, web server on a free port) with helpers that speak for a
//! host (`app.signup(..)`, `app.create_event(..)`, `app.add_guest(..)`,
//! `app.issue_link(..)`) or a guest (`app.open_link(..)`, `app.rsvp(..)`), so tests
//! read as what people do rather than as HTTP plumbing.
//!
//! Requests are built with [`Call`]: `app.get(path).as_host(&host).await` sends the
//! host's session cookie and, like a page of our own, a same-origin `Origin` header.

use super::{
    services::{NatsServer, Postgres},
    shared::{self, SharedServices},
    FraudEngine,
};
use app::{
    events::Event,
    guests::{Guest, GuestList},
    hosts::NewApiKey,
    invitations::IssuedLink,
};
use reqwest::{header::HeaderMap, Method};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::{
    future::{Future, IntoFuture},
    net::SocketAddr,
    pin::Pin,
    time::Duration,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The fingerprint a browser page would compute for a device named `device` (SHA-256,
/// 64 hex digits), as the signals endpoint requires.
pub fn fingerprint(device: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(device.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The password every test host signs up with.
pub const PASSWORD: &str = "correct horse battery staple";
/// The public address invitation links are built on.
pub const PUBLIC_URL: &str = "https://guestguard.test";

/// One GuestGuard for one test.
pub struct TestApi {
    pub address: SocketAddr,
    pub http: reqwest::Client,
    /// The test's own database, for looking at what the API stored.
    pub db: PgPool,
    /// The services behind this GuestGuard.
    pub services: Services,
    database_url: String,
    fraud_address: SocketAddr,
    stop: CancellationToken,
}

/// Another web server on the same database, NATS and fraud engine as a [`TestApi`] (a
/// second replica); it stops when dropped.
pub struct Replica {
    pub address: SocketAddr,
    stop: CancellationToken,
}

impl Replica {
    /// Absolute URL of a path on this replica.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Where a [`TestApi`]'s services come from.
pub enum Services {
    /// A database of its own on the binary's shared services.
    Shared {
        shared: &'static SharedServices,
        database: String,
    },
    /// PostgreSQL, NATS and fraud engine of its own, which the test may stop and start.
    Own(Box<OwnServices>),
}

/// The services of an isolated [`TestApi`].
pub struct OwnServices {
    pub postgres: Postgres,
    pub nats: NatsServer,
    pub fraud: FraudEngine,
}

/// A user agent like a browser's: the API's clients are browsers, and the fraud engine
/// counts a request without one as suspicious.
pub const BROWSER: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";

/// A signed-up host and their session.
#[derive(Clone, Debug)]
pub struct Host {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    /// Value of the `gg_session` cookie.
    pub session: String,
}

impl TestApi {
    /// A GuestGuard with an empty database, on the binary's shared services.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// [`Self::spawn`] with further settings (e.g. shorter timeouts).
    pub async fn spawn_with(extra: &[(&str, &str)]) -> Self {
        let shared = shared::services().await;
        let database = shared.fresh_database().await;
        let database_url = shared.postgres.database_url(&database);
        let services = Services::Shared { shared, database };
        Self::start(
            services,
            &database_url,
            &shared.nats.url(),
            shared.fraud_address,
            extra,
        )
        .await
    }

    /// A GuestGuard with PostgreSQL, NATS and a fraud engine of its own (for tests that
    /// stop them or read what was published), with further settings from `extra`.
    pub async fn spawn_isolated(extra: &[(&str, &str)]) -> Self {
        super::init_tracing();
        let (postgres, nats) = tokio::join!(Postgres::start(), NatsServer::start());
        let fraud = FraudEngine::start_at(
            &nats.url(),
            SocketAddr::from(([127, 0, 0, 1], 0)),
            CancellationToken::new(),
        )
        .await;
        let (database_url, nats_url, fraud_address) =
            (postgres.url.clone(), nats.url(), fraud.address);
        let services = Services::Own(Box::new(OwnServices {
            postgres,
            nats,
            fraud,
        }));
        Self::start(services, &database_url, &nats_url, fraud_address, extra).await
    }

    async fn start(
        services: Services,
        database_url: &str,
        nats_url: &str,
        fraud_address: SocketAddr,
        extra: &[(&str, &str)],
    ) -> Self {
        let stop = CancellationToken::new();
        let mut settings = vec![("GUESTGUARD_PUBLIC_URL", PUBLIC_URL)];
        settings.extend_from_slice(extra);
        let address = super::start_web_server(
            database_url,
            nats_url,
            fraud_address,
            &settings,
            stop.clone(),
        )
        .await;
        let db = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(database_url)
            .await
            .expect("the test database accepts connections");
        Self {
            address,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(BROWSER)
                .build()
                .expect("http client"),
            db,
            services,
            database_url: database_url.to_owned(),
            fraud_address,
            stop,
        }
    }

    /// Starts a second web server on this GuestGuard's database, NATS and engine, as a
    /// second replica behind a load balancer would be.
    pub async fn replica(&self) -> Replica {
        let stop = CancellationToken::new();
        let address = super::start_web_server(
            &self.database_url,
            &self.nats_url(),
            self.fraud_address,
            &[("GUESTGUARD_PUBLIC_URL", PUBLIC_URL)],
            stop.clone(),
        )
        .await;
        Replica { address, stop }
    }

    /// The NATS server this GuestGuard publishes to.
    pub fn nats_url(&self) -> String {
        match &self.services {
            Services::Shared { shared, .. } => shared.nats.url(),
            Services::Own(own) => own.nats.url(),
        }
    }

    /// A NATS client with every permission (the operators' user) on this GuestGuard's
    /// NATS; `None` while NATS is unreachable.
    pub async fn nats_ops(&self) -> Option<async_nats::Client> {
        super::services::connect_as(&self.nats_url(), proto::nats::OPS)
            .await
            .ok()
    }

    /// Every message of the GUESTGUARD stream on `subject`: `(Nats-Msg-Id, body)`.
    pub async fn published(&self, subject: &str) -> Vec<(String, Value)> {
        use futures::StreamExt as _;
        let client = self.nats_ops().await.expect("NATS reachable");
        let stream = async_nats::jetstream::new(client)
            .get_stream(proto::events::STREAM)
            .await
            .expect("the stream exists");
        let consumer = stream
            .create_consumer(async_nats::jetstream::consumer::pull::Config {
                filter_subject: subject.to_owned(),
                ack_policy: async_nats::jetstream::consumer::AckPolicy::None,
                ..Default::default()
            })
            .await
            .expect("an ephemeral consumer");
        let mut messages = Vec::new();
        loop {
            let mut batch = consumer
                .fetch()
                .max_messages(1_000)
                .expires(Duration::from_millis(500))
                .messages()
                .await
                .expect("fetching");
            let before = messages.len();
            while let Some(message) = batch.next().await {
                let message = message.expect("a message");
                let id = message
                    .headers
                    .as_ref()
                    .and_then(|headers| headers.get(async_nats::header::NATS_MESSAGE_ID))
                    .map(|id| id.to_string())
                    .unwrap_or_default();
                let body = serde_json::from_slice(&message.payload).expect("JSON body");
                messages.push((id, body));
            }
            if messages.len() == before {
                break;
            }
        }
        messages
    }

    /// The services of an isolated GuestGuard.
    pub fn own(&mut self) -> &mut OwnServices {
        match &mut self.services {
            Services::Own(own) => own,
            Services::Shared { .. } => panic!("only TestApi::spawn_isolated has its own services"),
        }
    }

    /// Absolute URL of a path on the web server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// The server's own origin, as its pages send it.
    pub fn origin(&self) -> String {
        format!("http://{}", self.address)
    }

    // ----- requests -------------------------------------------------------------------

    /// A request to build further and `.await`.
    pub fn request(&self, method: Method, path: &str) -> Call {
        Call {
            http: self.http.clone(),
            method,
            url: self.url(path),
            origin: self.origin(),
            session: None,
            same_origin: false,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn get(&self, path: &str) -> Call {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Call {
        self.request(Method::POST, path)
    }

    pub fn patch(&self, path: &str) -> Call {
        self.request(Method::PATCH, path)
    }

    pub fn delete(&self, path: &str) -> Call {
        self.request(Method::DELETE, path)
    }

    // ----- hosts ----------------------------------------------------------------------

    /// `POST /api/v1/auth/signup` with this body.
    pub async fn try_signup(&self, body: Value) -> Reply {
        self.post("/api/v1/auth/signup").json(body).await
    }

    /// Signs a new host up (with [`PASSWORD`]) and keeps their session.
    pub async fn signup(&self, email: &str) -> Host {
        let name = format!("Host {}", email.split('@').next().unwrap_or(email));
        let reply = self
            .try_signup(json!({"email": email, "name": name, "password": PASSWORD}))
            .await
            .expect_status(201);
        let profile = reply.json();
        Host {
            id: profile["id"]
                .as_str()
                .and_then(|id| Uuid::parse_str(id).ok())
                .expect("the profile has an id"),
            email: profile["email"].as_str().unwrap_or_default().to_owned(),
            name,
            session: reply
                .session_cookie()
                .expect("signup sets a session cookie"),
        }
    }

    /// `POST /api/v1/auth/login`.
    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post("/api/v1/auth/login")
            .json(json!({"email": email, "password": password}))
            .await
    }

    /// `GET /api/v1/auth/me` as this host.
    pub async fn me(&self, host: &Host) -> Reply {
        self.get("/api/v1/auth/me").as_host(host).await
    }

    /// Creates an API key for the host.
    pub async fn create_api_key(&self, host: &Host, name: &str) -> NewApiKey {
        self.post("/api/v1/api-keys")
            .as_host(host)
            .json(json!({ "name": name }))
            .await
            .expect_status(201)
            .parse()
    }

    // ----- events ---------------------------------------------------------------------

    /// A valid event body (unique slug, date in the future) with `fields` on top.
    pub fn event_body(fields: Value) -> Value {
        let mut body = json!({
            "name": "Summer party",
            "slug": format!("party-{}", &Uuid::new_v4().simple().to_string()[..8]),
            "event_date": "2031-06-12T18:00:00+02:00",
            "time_zone": "Europe/Paris",
            "venue": "The Old Mill",
        });
        merge(&mut body, fields);
        body
    }

    /// `POST /api/v1/events` with exactly this body.
    pub async fn try_create_event(&self, host: &Host, body: Value) -> Reply {
        self.post("/api/v1/events").as_host(host).json(body).await
    }

    /// Creates a valid event with `fields` on top of the defaults.
    pub async fn create_event(&self, host: &Host, fields: Value) -> Event {
        self.try_create_event(host, Self::event_body(fields))
            .await
            .expect_status(201)
            .parse()
    }

    // ----- guests ---------------------------------------------------------------------

    /// `POST /api/v1/events/{id}/guests` with exactly this body.
    pub async fn try_add_guest(&self, host: &Host, event: &Event, body: Value) -> Reply {
        self.post(&guests_path(event.id))
            .as_host(host)
            .json(body)
            .await
    }

    /// Adds a guest (named "Guest" unless `fields` says otherwise).
    pub async fn add_guest(&self, host: &Host, event: &Event, fields: Value) -> Guest {
        let mut body = json!({ "name": "Guest" });
        merge(&mut body, fields);
        self.try_add_guest(host, event, body)
            .await
            .expect_status(201)
            .parse()
    }

    /// `GET /api/v1/events/{id}/guests?{query}`.
    pub async fn guest_list(&self, host: &Host, event: &Event, query: &str) -> GuestList {
        self.get(&format!("{}?{query}", guests_path(event.id)))
            .as_host(host)
            .await
            .expect_status(200)
            .parse()
    }

    /// `POST /api/v1/events/{id}/guests/import?{query}` with a CSV file.
    pub async fn import_csv(&self, host: &Host, event: &Event, query: &str, csv: &str) -> Reply {
        self.post(&format!("{}/import?{query}", guests_path(event.id)))
            .as_host(host)
            .body("text/csv", csv.as_bytes().to_vec())
            .await
    }

    /// `GET /api/v1/events/{id}/guests/export`.
    pub async fn export_csv(&self, host: &Host, event: &Event) -> Reply {
        self.get(&format!("{}/export", guests_path(event.id)))
            .as_host(host)
            .await
    }

    // ----- links ----------------------------------------------------------------------

    /// `POST .../guests/{guest_id}/tokens` with this body (`Value::Null`: no body).
    pub async fn try_issue_link(&self, host: &Host, guest: &Guest, body: Value) -> Reply {
        let call = self.post(&tokens_path(guest)).as_host(host);
        if body.is_null() {
            call.await
        } else {
            call.json(body).await
        }
    }

    /// Issues a personal link for the guest (every earlier one stops working).
    pub async fn issue_link(&self, host: &Host, guest: &Guest) -> IssuedLink {
        self.try_issue_link(host, guest, Value::Null)
            .await
            .expect_status(201)
            .parse()
    }

    /// Adds a guest and issues their link.
    pub async fn invite(&self, host: &Host, event: &Event, fields: Value) -> (Guest, IssuedLink) {
        let guest = self.add_guest(host, event, fields).await;
        let link = self.issue_link(host, &guest).await;
        (guest, link)
    }

    /// `DELETE .../tokens/{token_id}`.
    pub async fn revoke_link(&self, host: &Host, guest: &Guest, link: &IssuedLink) -> Reply {
        self.delete(&format!("{}/{}", tokens_path(guest), link.id))
            .as_host(host)
            .await
    }

    // ----- guests' side ---------------------------------------------------------------

    /// A guest opens their link: `GET /api/v1/access/{token}`.
    pub async fn open_link(&self, token: &str) -> Reply {
        self.get(&format!("/api/v1/access/{token}"))
            .header("user-agent", "Mozilla/5.0 (GuestGuard tests)")
            .header("accept-language", "fr-FR,fr;q=0.9")
            .await
    }

    /// A guest answers: `POST /api/v1/rsvp/{token}`.
    pub fn rsvp(&self, token: &str, body: Value) -> Call {
        self.post(&format!("/api/v1/rsvp/{token}")).json(body)
    }

    // ----- operators -------------------------------------------------------------------

    /// `GET /healthz/detail` with the operators' token: the whole report.
    pub async fn health_detail(&self) -> Value {
        self.get("/healthz/detail")
            .bearer(app::settings::DEVELOPMENT_OPS_TOKEN)
            .await
            .json()
    }

    // ----- the database ---------------------------------------------------------------

    /// A number from the test's database.
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.db)
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"))
    }
}

impl Drop for TestApi {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Services::Shared { shared, database } = &self.services {
            shared.drop_database(database);
        }
    }
}

/// `/api/v1/events/{id}/guests`
pub fn guests_path(event_id: Uuid) -> String {
    format!("/api/v1/events/{event_id}/guests")
}

/// `/api/v1/events/{id}/guests/{guest_id}`
pub fn guest_path(guest: &Guest) -> String {
    format!("{}/{}", guests_path(guest.event_id), guest.id)
}

/// `/api/v1/events/{id}/guests/{guest_id}/tokens`
pub fn tokens_path(guest: &Guest) -> String {
    format!("{}/tokens", guest_path(guest))
}

/// Puts every field of `fields` (an object) into `body`.
pub fn merge(body: &mut Value, fields: Value) {
    if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
        body.extend(fields);
    }
}

/// One request being built; `.await` sends it.
pub struct Call {
    http: reqwest::Client,
    method: Method,
    url: String,
    origin: String,
    session: Option<String>,
    same_origin: bool,
    headers: Vec<(String, String)>,
    body: Option<(String, Vec<u8>)>,
}

impl Call {
    /// Signed in as this host through the session cookie, from one of our own pages
    /// (same-origin `Origin` header).
    #[expect(
        clippy::wrong_self_convention,
        reason = "a builder step that reads as a sentence: `app.get(path).as_host(&host)`"
    )]
    pub fn as_host(self, host: &Host) -> Self {
        self.with_session(&host.session)
    }

    /// With this session cookie value, from one of our own pages.
    pub fn with_session(mut self, session: &str) -> Self {
        self.session = Some(session.to_owned());
        self.same_origin = true;
        self
    }

    /// Without the `Origin` header a page of ours would send (a cross-site form, or a
    /// client that sends none).
    pub fn without_origin(mut self) -> Self {
        self.same_origin = false;
        self
    }

    /// Sends from this loopback address (`127.0.0.2`, ...), as another client would.
    pub fn sent_from(mut self, ip: &str) -> Self {
        self.http = reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().expect("an IP address"))
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(BROWSER)
            .build()
            .expect("http client");
        self
    }

    /// `Authorization: Bearer {key}`.
    pub fn bearer(self, key: &str) -> Self {
        self.header("authorization", &format!("Bearer {key}"))
    }

    /// Any header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A JSON body.
    pub fn json(self, body: impl serde::Serialize) -> Self {
        let bytes = serde_json::to_vec(&body).expect("serialisable body");
        self.body("application/json", bytes)
    }

    /// A body of any type.
    pub fn body(mut self, content_type: &str, bytes: Vec<u8>) -> Self {
        self.body = Some((content_type.to_owned(), bytes));
        self
    }

    fn build(self) -> reqwest::RequestBuilder {
        let mut request = self.http.request(self.method, &self.url);
        if let Some(session) = &self.session {
            request = request.header("cookie", format!("gg_session={session}"));
        }
        if self.same_origin {
            request = request.header("origin", &self.origin);
        }
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some((content_type, bytes)) = self.body {
            request = request.header("content-type", content_type).body(bytes);
        }
        request
    }
}

impl IntoFuture for Call {
    type Output = Reply;
    type IntoFuture = Pin<Box<dyn Future<Output = Reply> + Send + 'static>>;

    fn into_future(self) -> Self::IntoFuture {
        let what = format!("{} {}", self.method, self.url);
        let request = self.build();
        Box::pin(async move {
            let response = request
                .send()
                .await
                .unwrap_or_else(|error| panic!("{what}: no answer: {error}"));
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let bytes = response
                .bytes()
                .await
                .unwrap_or_else(|error| panic!("{what}: unreadable body: {error}"));
            Reply {
                what,
                status,
                headers,
                text: String::from_utf8_lossy(&bytes).into_owned(),
            }
        })
    }
}

/// An answer of the server.
#[derive(Clone, Debug)]
pub struct Reply {
    /// Method and URL, for messages.
    pub what: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    /// Fails the test unless the status is `status`.
    #[track_caller]
    pub fn expect_status(self, status: u16) -> Self {
        assert_eq!(
            self.status, status,
            "{}: expected {status}, got {}: {}",
            self.what, self.status, self.text
        );
        self
    }

    /// The body as JSON (fails the test if it is not JSON).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|error| {
            panic!(
                "{}: {} body is not JSON ({error}): {:?}",
                self.what, self.status, self.text
            )
        })
    }

    /// The body as a typed value.
    #[track_caller]
    pub fn parse<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.text).unwrap_or_else(|error| {
            panic!(
                "{}: {} body does not fit ({error}): {}",
                self.what, self.status, self.text
            )
        })
    }

    /// `error.code` of a JSON error body.
    #[track_caller]
    pub fn code(&self) -> String {
        let body = self.json();
        body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no error code in {body}", self.what))
            .to_owned()
    }

    /// `error.field` of a JSON error body.
    #[track_caller]
    pub fn field(&self) -> Option<String> {
        self.json()["error"]["field"].as_str().map(str::to_owned)
    }

    /// Fails the test unless this is a JSON error with this status and code.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Self {
        let reply = self.expect_status(status);
        assert!(
            reply.is_json(),
            "{}: error is not JSON: {:?} {:?}",
            reply.what,
            reply.header("content-type"),
            reply.text
        );
        assert_eq!(reply.code(), code, "{}: {}", reply.what, reply.text);
        assert!(
            reply.json()["error"]["message"]
                .as_str()
                .is_some_and(|message| !message.is_empty()),
            "{}: the error has no message: {}",
            reply.what,
            reply.text
        );
        reply
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }

    /// Whether the body is declared and parses as JSON.
    pub fn is_json(&self) -> bool {
        self.header("content-type")
            .is_some_and(|value| value.starts_with("application/json"))
            && serde_json::from_str::<Value>(&self.text).is_ok()
    }

    /// The `Set-Cookie` header of the session cookie.
    pub fn session_set_cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.starts_with("gg_session="))
            .map(str::to_owned)
    }

    /// The value the session cookie is set to.
    pub fn session_cookie(&self) -> Option<String> {
        self.session_set_cookie()
            .and_then(|cookie| {
                cookie
                    .split(';')
                    .next()
                    .and_then(|pair| pair.strip_prefix("gg_session="))
                    .map(str::to_owned)
            })
            .filter(|value| !value.is_empty())
    }
}
