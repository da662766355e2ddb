//! Nobody talks to the engine without credentials: gRPC calls need the service token
//! (and TLS where configured), and on NATS each service may publish only its own
//! subjects — the web server cannot forge a `fraud.scored`, the engine cannot forge an
//! `access.attempted`, and an anonymous client cannot connect at all.

use crate::helpers::{channel_with_token, Access, Engine, Nats};
use proto::{
    events::{self, FraudScored},
    fraud::v1::fraud_service_client::FraudServiceClient,
    nats::{ENGINE, SERVER},
};
use std::{net::SocketAddr, time::Duration};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use uuid::Uuid;

#[tokio::test]
async fn a_score_call_without_the_service_token_is_refused() {
    let nats = Nats::start().await;
    let engine = Engine::start(&nats).await;
    let guest = Uuid::from_u128(1);
    let request = Access::by(guest, "attacker-laptop", "198.51.100.1").request();

    let bare = Channel::from_shared(format!("http://{}", engine.address))
        .expect("address")
        .connect()
        .await
        .expect("connects");
    let refused = FraudServiceClient::new(bare)
        .score(request.clone())
        .await
        .expect_err("no token");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);

    let forged = channel_with_token(engine.address, "a-guessed-token").await;
    let refused = FraudServiceClient::new(forged)
        .score(request.clone())
        .await
        .expect_err("wrong token");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);

    // Nothing was learned from the refused calls: the guest still has no trusted device.
    let calm = engine
        .score(&Access::by(guest, "real-phone", "203.0.113.7"))
        .await;
    assert_eq!(calm.score(), 0, "{:?}", calm.0.reasons);
}

#[tokio::test]
async fn over_tls_the_engine_answers_only_clients_that_trust_its_certificate() {
    let nats = Nats::start().await;
    let dir = tempfile::tempdir().expect("temporary folder");
    let ca = rcgen::KeyPair::generate().expect("CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca).expect("CA certificate");
    let key = rcgen::KeyPair::generate().expect("engine key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .signed_by(&key, &rcgen::Issuer::new(ca_params, &ca))
        .expect("engine certificate");
    let (cert_path, key_path) = (dir.path().join("engine.pem"), dir.path().join("engine.key"));
    std::fs::write(&cert_path, cert.pem()).expect("write");
    std::fs::write(&key_path, key.serialize_pem()).expect("write");

    let engine = Engine::start_with(&nats, |settings| {
        settings.grpc_tls = Some(fraud::settings::TlsFiles {
            cert: cert_path,
            key: key_path,
        });
    })
    .await;
    let port = engine.address.port();
    let trusted = Channel::from_shared(format!("https://localhost:{port}"))
        .expect("address")
        .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_cert.pem())))
        .expect("TLS")
        .connect()
        .await
        .expect("a client trusting the CA connects");
    let token = proto::grpc_auth::AttachToken::new(&proto::grpc_auth::DEVELOPMENT_TOKEN.into())
        .expect("token");
    let scored = FraudServiceClient::with_interceptor(trusted, token)
        .score(Access::by(Uuid::from_u128(2), "phone", "203.0.113.7").request())
        .await
        .expect("scored over TLS");
    assert_eq!(scored.into_inner().score, 0);

    let plain = Channel::from_shared(format!(
        "http://{}",
        SocketAddr::from(([127, 0, 0, 1], port))
    ))
    .expect("address")
    .connect_timeout(Duration::from_secs(2))
    .connect()
    .await;
    let plain_call = match plain {
        Err(_) => true,
        Ok(channel) => FraudServiceClient::new(channel)
            .score(Access::by(Uuid::from_u128(2), "phone", "203.0.113.7").request())
            .await
            .is_err(),
    };
    assert!(plain_call, "a plaintext client must not be served");
}

#[tokio::test]
async fn each_service_may_publish_only_its_own_events_and_strangers_cannot_connect() {
    let nats = Nats::start().await;
    let _engine = Engine::start(&nats).await; // creates the stream
    let ops = nats.jetstream().await;
    crate::helpers::eventually("the stream", || async {
        ops.get_stream(events::STREAM).await.ok()
    })
    .await;

    let anonymous = async_nats::ConnectOptions::new().connect(nats.url()).await;
    assert!(
        anonymous.is_err(),
        "a client without credentials is refused"
    );

    let scored = FraudScored {
        event_id: Uuid::from_u128(1),
        guest_id: Uuid::from_u128(2),
        token_id: Uuid::from_u128(3),
        access_log_id: Uuid::from_u128(4),
        score: 0,
        risk: "low".into(),
        reasons: vec![],
        flagged: false,
        scored_at: chrono::Utc::now(),
    };
    let body = serde_json::to_vec(&scored).expect("JSON");
    let publish = |client: async_nats::Client, subject: &'static str, body: Vec<u8>| async move {
        let mut jetstream = async_nats::jetstream::new(client);
        jetstream.set_timeout(Duration::from_secs(1));
        match jetstream.publish(subject, body.into()).await {
            Ok(ack) => ack.await.is_ok(),
            Err(_) => false,
        }
    };

    let web = nats
        .connect_as(SERVER)
        .await
        .expect("the web server's user");
    assert!(
        !publish(web.clone(), events::FRAUD_SCORED, body.clone()).await,
        "the web server's user must not publish fraud.scored"
    );
    let engine_user = nats.connect_as(ENGINE).await.expect("the engine's user");
    assert!(
        !publish(
            engine_user.clone(),
            events::ACCESS_ATTEMPTED,
            b"{}".to_vec()
        )
        .await,
        "the engine's user must not publish access.attempted"
    );
    assert!(
        nats.fraud_scored().await.is_empty(),
        "no forged score reached the stream"
    );
    // Each may publish what is its own.
    assert!(publish(engine_user, events::FRAUD_SCORED, body).await);
    assert_eq!(nats.fraud_scored().await.len(), 1);
}
