//! What the cut-over import refuses: starting the service on the Flask
//! database itself (it says to import instead, and changes nothing), bad
//! command lines, and bringing back a user Clerk deleted since the first run.
//! The import itself is `import_legacy.rs`.

use super::import_legacy::{BIN, findings, fingerprint, legacy_db, report_path, run};
use crate::common::TestApp;

#[tokio::test]
async fn pointed_at_the_flask_database_start_up_says_to_import_instead() {
    let legacy = legacy_db().await;
    let before = fingerprint(&legacy).await;
    let out = tokio::process::Command::new(BIN)
        .arg("migrate")
        .env("DATABASE_URL", legacy.url())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("import-legacy"), "{stderr}");
    assert_eq!(fingerprint(&legacy).await, before, "nothing was changed");

    for (args, complaint) in [
        (vec!["import-legacy"], "--from is required"),
        (vec!["import-legacy", "--from"], "--from needs a URL"),
        (
            vec!["import-legacy", "--from", "x", "--frobnicate"],
            "unknown argument",
        ),
    ] {
        let out = tokio::process::Command::new(BIN)
            .args(&args)
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(complaint),
            "{args:?}"
        );
    }
}

/// A user Clerk deleted after the snapshot is not brought back by a re-run,
/// and the report says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_does_not_bring_back_a_user_deleted_in_clerk() {
    let legacy = legacy_db().await;
    let app = TestApp::spawn().await;
    let first = report_path("tomb1");
    run(&legacy, Some(&app.db), &first).await;
    assert_eq!(app.get("/user/user_clean00007").await.0, 200);
    // What Clerk's signed `user.deleted` does (tests/api/webhooks.rs).
    app.db
        .execute(
            "DELETE FROM users WHERE clerk_user_id = 'user_clean00007'; \
             INSERT INTO deleted_users (clerk_user_id, deleted_at) VALUES ('user_clean00007', now())",
        )
        .await;
    // The legacy row changes too: it would be newer than anything of ours.
    legacy
        .execute(
            "UPDATE users SET updated_at = now()::timestamp WHERE clerk_user_id = 'user_clean00007'",
        )
        .await;
    let second = report_path("tomb2");
    let summary = run(&legacy, Some(&app.db), &second).await;
    assert_eq!((summary.inserted, summary.updated), (0, 0), "{summary}");
    assert_eq!(app.get("/user/user_clean00007").await.0, 404);
    assert!(app.row("user_clean00007").await.is_none());
    assert!(
        findings(&second).contains(&(
            "user_clean00007".to_owned(),
            "deleted_user".to_owned(),
            "skipped".to_owned()
        )),
        "{:?}",
        findings(&second)
    );
    for path in [first, second] {
        let _ = std::fs::remove_file(path);
    }
}
