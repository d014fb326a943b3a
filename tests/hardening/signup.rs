//! What anonymous visitors can do to what is stored about a person: a used
//! confirmation link answers "already confirmed" and changes nothing.

use crate::common::TestApp;
use crate::common::smtp::{Received, SmtpServer};
use crate::{both_engines, on_db};

/// The first link in the text part whose path starts with `prefix`, as a URL on the test server.
fn local_link(app: &TestApp, m: &Received, prefix: &str) -> String {
    let parsed = mail_parser::MessageParser::default().parse(&m.data).expect("MIME");
    let text = parsed.body_text(0).expect("a text part").into_owned();
    let at = text.find(prefix).unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"));
    let path = text[at..].split_whitespace().next().unwrap().to_owned();
    format!("{}{path}", app.base)
}

/// The person's status, name and organisation as stored.
async fn stored(app: &TestApp, email: &str) -> (String, String, String) {
    on_db!(app.db, |pool| sqlx::query_as(
        "select p.status, p.name, coalesce(o.name, '') from person p \
         left join organisation o on o.id = p.organisation_id where p.email = $1"
    )
    .bind(email)
    .fetch_one(&pool)
    .await
    .unwrap())
}

both_engines! {
    async fn a_used_confirmation_link_says_already_confirmed_and_changes_nothing(engine: Engine) {
        let smtp = SmtpServer::start().await;
        let url = smtp.url();
        let app = TestApp::spawn_with(engine, &[("mail.transport", "smtp"), ("mail.smtp_url", url.as_str())]).await;
        let signup = [
            ("name", "Søren Ærø"),
            ("email", "soren@nordlys-it.example"),
            ("organisation", "Nordlys IT A/S"),
            ("consent", "yes"),
        ];
        let res = app.http.post(format!("{}/subscribe", app.base)).form(&signup).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let mail = smtp.wait_for(1, 10).await;
        let confirm = local_link(&app, &mail[0], "/confirm/");
        let res = app.http.post(&confirm).send().await.unwrap();
        assert!(res.text().await.unwrap().contains("Du er nu på listen"));
        let before = stored(&app, "soren@nordlys-it.example").await;
        assert_eq!(before.0, "confirmed");

        // Someone who got hold of the used link tries it again, with another organisation.
        let res = app.http.post(&confirm).form(&[("organisation", "Angriber ApS")]).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let page = res.text().await.unwrap();
        assert!(page.contains("Allerede bekræftet") && !page.contains("Du er nu på listen"), "{page}");
        let page = app.http.get(&confirm).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Allerede bekræftet"), "{page}");
        assert_eq!(stored(&app, "soren@nordlys-it.example").await, before, "nothing changed");
        app.stop().await;
    }
}
