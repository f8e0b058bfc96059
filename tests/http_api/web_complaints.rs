//! Complaints on the office's pages: taken in from the household's page, found in the queue,
//! assigned and resolved with why, and listed on the E-Warung's page.

use reqwest::StatusCode;

use crate::common::*;
use crate::on_both_backends;
use crate::web_client::*;

async fn the_office_takes_in_and_resolves_a_complaint_on_its_pages(app: TestApp) {
    let token = app.login("dinsos").await;
    let household = app.household_id(&token, DEMO_KKS[3]).await;
    let berkah = app.ewarung_id(&token, "E-Warung Berkah").await;
    let mut office = Browser::new(&app);
    office.login("dinsos").await;
    let page = office.get(&format!("/households/{household}")).await;
    assert!(page.body.contains("id=\"file-complaint\""));
    let form_path = format!("/households/{household}/complaints/new");
    let form = office.get(&form_path).await;
    let csrf = form.csrf();
    let post = format!("/households/{household}/complaints");
    // A kiosk's conduct without the kiosk: refused beside it, what was typed kept.
    let refused = office
        .post_refused(
            &post,
            &[
                ("csrf", &csrf),
                ("channel", "phone"),
                ("category", "card_kept"),
                ("severity", ""),
                ("ewarung", ""),
                ("rrn", ""),
                ("description", "kartu ditahan sejak Senin"),
            ],
            &form_path,
        )
        .await;
    assert!(
        refused.body.contains("id=\"ewarung-error\""),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("kartu ditahan sejak Senin"));
    let filed = office
        .post(
            &post,
            &[
                ("csrf", &csrf),
                ("channel", "phone"),
                ("category", "card_kept"),
                ("severity", ""),
                ("ewarung", &berkah),
                ("rrn", ""),
                ("description", "kartu ditahan sejak Senin"),
            ],
        )
        .await;
    assert!(
        filed.location().starts_with("/complaints/"),
        "{}",
        filed.body
    );
    let path = filed.location().to_string();
    let complaint = office.follow(&filed).await;
    assert!(complaint.body.contains("Kartu ditahan E-Warung"));
    assert!(complaint.body.contains("Tinggi"), "high by its kind");
    // In the queue and on the E-Warung's page.
    let queue = office.get("/complaints").await;
    assert!(queue.body.contains(&path));
    let kiosk = office.get(&format!("/ewarungs/{berkah}")).await;
    assert!(
        kiosk.body.contains("id=\"complaint-list\""),
        "{}",
        kiosk.body
    );
    // Assigned, then resolved: a blank reason is refused beside it.
    let csrf = complaint.csrf();
    let me = between(&complaint.body, "<option value=\"", "\" selected>dinsos");
    let me = me.rsplit('"').next().unwrap().to_string();
    let assigned = office
        .post(&format!("{path}/assign"), &[("csrf", &csrf), ("user", &me)])
        .await;
    let assigned = office.follow(&assigned).await;
    assert!(
        assigned.body.contains("id=\"assignee\">dinsos"),
        "{}",
        assigned.body
    );
    let blank = office
        .post_refused(
            &format!("{path}/resolve"),
            &[("csrf", &csrf), ("outcome", "upheld"), ("reason", " ")],
            &path,
        )
        .await;
    assert!(blank.body.contains("id=\"reason-error\""), "{}", blank.body);
    let resolved = office
        .post(
            &format!("{path}/resolve"),
            &[
                ("csrf", &csrf),
                ("outcome", "upheld"),
                (
                    "reason",
                    "kartu dikembalikan, E-Warung diberi teguran tertulis",
                ),
            ],
        )
        .await;
    let resolved = office.follow(&resolved).await;
    assert!(
        resolved.body.contains("id=\"outcome\">Diterima"),
        "{}",
        resolved.body
    );
    // Sent again (Back and resubmit): told it is resolved, nothing changes.
    let again = office
        .post_refused(
            &format!("{path}/resolve"),
            &[("csrf", &csrf), ("outcome", "rejected"), ("reason", "lagi")],
            &path,
        )
        .await;
    assert!(again.body.contains("sudah diselesaikan"), "{}", again.body);
    // An auditor reads it, with no forms.
    let mut auditor = Browser::new(&app);
    auditor.login("auditor").await;
    let read = auditor.get(&path).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(!read.body.contains("id=\"resolve\""));
    assert_eq!(auditor.get(&form_path).await.status, StatusCode::FORBIDDEN);
}

on_both_backends!(the_office_takes_in_and_resolves_a_complaint_on_its_pages);
