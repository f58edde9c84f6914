//! Slow, idle and too many clients: headers that never finish and idle
//! keep-alive connections are closed after `HTTP_HEADER_READ_TIMEOUT_MS` while
//! normal requests keep flowing; over `HTTP_MAX_CONNECTIONS` a connection is
//! refused at once with a 503, and service recovers as soon as slots free up.

use std::time::{Duration, Instant};

use crate::common::{Options, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn app(limits: &[(&str, &str)]) -> TestApp {
    let mut env = vec![("AUTH_MODE".to_string(), "none".to_string())];
    env.extend(limits.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    TestApp::spawn_with(Options {
        env,
        ..Default::default()
    })
    .await
}

/// Reads until the server closes the connection; the time it took.
async fn closed_within(conn: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), conn.read(&mut buf))
            .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_idle_connections_are_closed_while_normal_requests_flow() {
    let app = app(&[
        ("HTTP_HEADER_READ_TIMEOUT_MS", "500"),
        ("HTTP_MAX_CONNECTIONS", "500"),
    ])
    .await;

    // 100 clients that send a request line, then a header line every 100 ms.
    let mut slow = Vec::new();
    for _ in 0..100 {
        let mut conn = TcpStream::connect(app.addr).await.unwrap();
        conn.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(conn);
    }
    let dribble = {
        let mut conns = std::mem::take(&mut slow);
        tokio::spawn(async move {
            for i in 0..30 {
                for c in conns.iter_mut() {
                    let _ = c.write_all(format!("X-Slow-{i}: 1\r\n").as_bytes()).await;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            conns
        })
    };
    // A keep-alive connection that answers one request, then idles.
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");

    // Normal requests flow meanwhile.
    for _ in 0..20 {
        let (status, _) = app.get("/health").await;
        assert_eq!(status, 200);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = closed_within(&mut idle, Duration::from_secs(5)).await;
    assert!(took.is_some(), "an idle keep-alive connection is closed");
    let mut slow = dribble.await.unwrap();
    for conn in slow.iter_mut() {
        let took = closed_within(conn, Duration::from_secs(2)).await;
        assert!(
            took.is_some(),
            "a connection whose headers never finish is closed after the timeout"
        );
    }
    let (status, _) = app.get("/health").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_connection_cap_clients_are_refused_fast_and_service_recovers() {
    let app = app(&[
        ("HTTP_HEADER_READ_TIMEOUT_MS", "60000"),
        ("HTTP_MAX_CONNECTIONS", "10"),
    ])
    .await;
    // Ten connections that say nothing hold every slot.
    let mut holders = Vec::new();
    for _ in 0..10 {
        holders.push(TcpStream::connect(app.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let fresh = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    };
    let started = Instant::now();
    let resp = fresh().get(app.url("/health")).send().await.unwrap();
    assert_eq!(resp.status(), 503, "refused, not queued");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["success"], false);

    drop(holders);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let resp = fresh().get(app.url("/health")).send().await.unwrap();
        if resp.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "slots were not freed: {}",
            resp.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `/ready` is unauthenticated and a `list-users` reader may stop reading: a
/// flood of the one and a stalled other must not take the pool from requests.
/// Probes run on the shared read clients and share one result a second; a
/// stalled stream is cut after `STREAM_STALL_TIMEOUT`, freeing its connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_flood_and_a_stalled_list_reader_do_not_starve_the_pool() {
    let app = app(&[("DATABASE_POOL_SIZE", "1")]).await;
    app.sync_user("user_rated", "rated@example.com").await;
    // More ids than the socket buffers hold, so the stream blocks on its reader.
    app.db
        .execute(
            "INSERT INTO users (clerk_user_id, email) SELECT 'user_' || lpad(i::text, 7, '0'), \
             'u' || i || '@example.com' FROM generate_series(1, 400000) AS i",
        )
        .await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(app.addr).await.unwrap();
    stalled
        .write_all(b"GET /api/user/list-users HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    stalled.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    // ...and reads nothing more.

    let started = Instant::now();
    let probes = (0..300).map(|_| {
        let http = app.http.clone();
        let url = app.url("/ready");
        tokio::spawn(async move { http.get(url).send().await.unwrap().status().as_u16() })
    });
    for probe in probes.collect::<Vec<_>>() {
        assert_eq!(
            probe.await.unwrap(),
            200,
            "readiness does not wait for the pool"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // The one pooled connection comes back once the stalled stream is cut.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = app
            .post_json(
                "/user/user_rated/update-customer-rating",
                &serde_json::json!({"rating": 4}),
            )
            .await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(
            Instant::now() < deadline,
            "a stalled reader still holds the pool's connection"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(stalled);
}

/// Anyone may start a webhook request: bodies trickled in a byte at a time
/// must not hold connection slots until the whole-request deadline (30 s).
/// They get a 408 after their own short deadline (2 s), and `/health` is
/// served again right after, with every slot taken meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_unauthenticated_bodies_are_cut_off_after_their_own_deadline() {
    let app = app(&[("HTTP_MAX_CONNECTIONS", "30")]).await;
    let mut slow = Vec::new();
    for _ in 0..30 {
        let mut conn = TcpStream::connect(app.addr).await.unwrap();
        conn.write_all(
            b"POST /api/webhooks/stripe HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n\
              content-length: 60000\r\nstripe-signature: t=1,v1=00\r\n\r\n{",
        )
        .await
        .unwrap();
        slow.push(conn);
    }
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        let mut answers = Vec::new();
        for mut conn in slow {
            answers.push(tokio::spawn(async move {
                let mut got = Vec::new();
                let mut buf = [0u8; 1024];
                for _ in 0..100 {
                    let _ = conn.write_all(b" ").await;
                    match tokio::time::timeout(Duration::from_millis(100), conn.read(&mut buf))
                        .await
                    {
                        Ok(Ok(0)) | Ok(Err(_)) => break,
                        Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
                        Err(_) => {}
                    }
                }
                String::from_utf8_lossy(&got).into_owned()
            }));
        }
        let mut texts = Vec::new();
        for a in answers {
            texts.push(a.await.unwrap());
        }
        texts
    });
    // Every slot is held now; /health is served once the deadline cut them off.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut served_after = None;
    while started.elapsed() < Duration::from_secs(8) {
        if let Ok(Ok(resp)) = tokio::time::timeout(
            Duration::from_secs(1),
            app.http.get(app.url("/health")).send(),
        )
        .await
            && resp.status() == 200
        {
            served_after = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let served_after = served_after.expect("/health served again");
    assert!(
        served_after < Duration::from_millis(4_000),
        "/health waited {served_after:?} (the body deadline is 2 s)"
    );
    for text in trickle.await.unwrap() {
        assert!(
            text.starts_with("HTTP/1.1 408") && text.contains("Request body took too long"),
            "{text}"
        );
    }
}
