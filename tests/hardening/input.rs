//! What the service takes from its configuration and its callers: SMTP
//! credentials never travel without TLS.

use crate::common::cli;

/// Runs `migrate` on a fresh SQLite file with the given SMTP URL and extra settings.
fn migrate_with_smtp(url: &str, extra: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("dialogforum.db").display());
    let mut env = vec![
        ("DIALOGFORUM_DATABASE__URL", db.as_str()),
        ("DIALOGFORUM_MAIL__TRANSPORT", "smtp"),
        ("DIALOGFORUM_MAIL__SMTP_URL", url),
    ];
    env.extend_from_slice(extra);
    cli(&["migrate"], &env, "")
}

#[test]
fn a_password_for_the_mail_server_without_tls_is_refused_at_start_up_unless_allowed_for_a_local_relay() {
    let out = migrate_with_smtp("smtp://forum:hemmeligt@relay.example:587", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("mail.smtp_url") && stderr.contains("TLS"), "{stderr}");
    assert!(!stderr.contains("hemmeligt"), "the password is not repeated: {stderr}");

    for (url, extra) in [
        ("smtp://forum:hemmeligt@relay.example:587?tls=required", &[][..]),
        ("smtps://forum:hemmeligt@relay.example:465", &[][..]),
        ("smtp://relay.example:25", &[][..]),
        ("smtp://forum:hemmeligt@127.0.0.1:25", &[("DIALOGFORUM_MAIL__ALLOW_PLAINTEXT_AUTH", "true")][..]),
    ] {
        let out = migrate_with_smtp(url, extra);
        assert!(out.status.success(), "{url}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
