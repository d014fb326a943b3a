//! A meeting's dossier for a request for access to documents: one ZIP with
//! an index of what happened in date order and a file for each record —
//! the invitation's text and count, the change and the cancellation with
//! their notices, materials, the registrations summarised, and the audit
//! entries — and no one's address in it.

use crate::common;

use std::io::{Cursor, Read};

use common::{Engine, TestApp};
use dialogforum::domain::{MeetingId, Role};
use serde_json::json;

/// Every file of the archive by name, in the archive's order.
fn unzip(bytes: Vec<u8>) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a ZIP file");
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().unwrap().into_owned(), data)
        })
        .collect()
}

async fn a_meetings_dossier_lists_what_happened_in_order_with_its_files(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "org@forum.example").await;
    let api = app.api(&token);
    let start = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 20);
    let meeting = api
        .published_meeting(&json!({
            "number": 7, "title": "Sikkerhed i skyen", "starts_at": start.to_string(),
            "ends_at": (start + jiff::SignedDuration::from_hours(3)).to_string(), "format": "physical",
            "venue": "KL-huset"
        }))
        .await;
    let id: MeetingId = meeting.parse().unwrap();
    let people = [
        ("anne@nordlys.example", "Anne Nordlys", "Nordlys IT A/S"),
        ("bo@fjord.example", "Bo Fjord", "Fjord Data ApS"),
        ("carl@bolge.example", "Carl Bølge", "Bølge Consult"),
    ];
    for (email, name, organisation) in people {
        app.confirmed_person(email, name, organisation).await;
    }
    let campaign = api.invite(&meeting, &json!({"audience": {"all": true}})).await;
    api.campaign_in_state(&campaign, "done").await;
    app.outbox_settled().await;
    assert_eq!(smtp.wait_for(3, 20).await.len(), 3);

    let mut tx = app.store().begin().await.unwrap();
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
    dialogforum::store::materials::insert_material(&mut tx, id, "Oplæg om sky.pdf", "application/pdf", pdf)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Anne comes and may be named; Bo declines.
    on_db!(app.db, |pool| {
        sqlx::query(
            "update registration set status = 'attending', list_organisation = true \
             where person_id = (select id from person where email = 'anne@nordlys.example')",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "update registration set status = 'declined' \
             where person_id = (select id from person where email = 'bo@fjord.example')",
        )
        .execute(&pool)
        .await
        .unwrap();
    });
    let res = api.patch(&format!("/meetings/{meeting}"), &json!({"venue": "Christiansborg"})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = api.post(&format!("/meetings/{meeting}/cancel"), &json!({"message": "Aflyst på grund af sygdom"})).await;
    assert_eq!(res.status(), 200);
    app.outbox_settled().await;

    // A viewer may take it too: it holds no personal data but counts and consenting organisations.
    let viewer = app.sign_in_as("laeser@forum.example", Role::Viewer).await;
    let res = viewer.http.get(app.url(&format!("/admin/meetings/{meeting}/dossier.zip"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.contains("filename=\"akter-moede-7.zip\""), "{disposition}");
    let files = unzip(res.bytes().await.unwrap().to_vec());
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[0], "index.html", "{names:?}");
    let file = |suffix: &str| {
        let (_, data) =
            files.iter().find(|(n, _)| n.ends_with(suffix)).unwrap_or_else(|| panic!("{suffix} in {names:?}"));
        String::from_utf8(data.clone()).unwrap()
    };

    // The index: what happened, in date order, each with its files.
    let index = file("index.html");
    assert!(index.contains("<h1>Mødets akter: 7. møde: Sikkerhed i skyen</h1>"), "{index}");
    let order = [
        "Mødet oprettet",
        "Status ændret til offentliggjort",
        "Invitationer sendt",
        "Materiale lagt op",
        "Tid eller sted ændret",
        "Mødet aflyst",
        "Tilmeldinger opgjort",
        "Revisionslog for mødet",
    ];
    let at: Vec<usize> =
        order.iter().map(|t| index.find(&format!(">{t}<")).unwrap_or_else(|| panic!("{t} in {index}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "in date order: {index}");
    assert!(index.contains("Sikkerhed i skyen: 3 mails (3 sendt, 0 fejlet)"), "{index}");
    assert!(index.contains("Aflyst på grund af sygdom (Besked til 2)"), "{index}");
    for name in &names[1..] {
        assert!(index.contains(&format!(">{name}</a>")), "{name} is listed in the index");
    }

    // The files.
    let invitation = file("-invitation-da.txt");
    common::assert_has(&invitation, &["Sikkerhed i skyen", "[personligt-link]"]);
    assert!(file("-invitation-en.txt").contains("[personal-link]"));
    assert_eq!(file("-Oplæg om sky.pdf").as_bytes(), pdf);
    let registrations = file("-tilmeldinger.csv");
    assert!(registrations.starts_with('\u{feff}'), "a byte-order mark for Excel");
    common::assert_has(&registrations, &["Tjekket ind;0\r\n", "Udeblev;1\r\n"]);
    assert_eq!(file("-organisationer.csv"), "\u{feff}Organisation\r\nNordlys IT A/S\r\n");
    let audit = file("-revisionslog.csv");
    for action in ["meeting.create", "campaign.create", "meeting.reschedule", "meeting.cancelled"] {
        assert!(audit.contains(action), "{action} in {audit}");
    }
    assert!(file("-moedet.txt").contains("Christiansborg"));
    for (name, data) in &files {
        let text = String::from_utf8_lossy(data);
        for (email, who, _) in people {
            assert!(!text.contains(email) && !text.contains(who), "{name} names {who}");
        }
    }

    // In English, the index and the file names follow the organiser's language.
    let res = viewer.http.get(app.url("/lang/en")).send().await.unwrap();
    assert!(res.status().is_redirection());
    let res = viewer.http.get(app.url(&format!("/admin/meetings/{meeting}/dossier.zip"))).send().await.unwrap();
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.contains("filename=\"dossier-meeting-7.zip\""), "{disposition}");
    let files = unzip(res.bytes().await.unwrap().to_vec());
    let index = String::from_utf8(files[0].1.clone()).unwrap();
    common::assert_has(&index, &[r#"<html lang="en">"#, ">Meeting created<"]);
    common::assert_has(&index, &[">Meeting cancelled<", "-registrations.csv"]);

    // Taking it is recorded, each time.
    let downloads = app.db.count("select count(*) from audit_log where action = 'meeting.dossier'").await;
    assert_eq!(downloads, 2);
    app.stop().await;
}
both_engines!(a_meetings_dossier_lists_what_happened_in_order_with_its_files);
