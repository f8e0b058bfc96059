//! The kelurahan verifier on the web application: their round of households, a visit recorded
//! with a photo of the house, a move proposed from the household's page, and nothing outside
//! their kelurahan or about the household's money.

use reqwest::StatusCode;

use crate::common::*;
use crate::on_both_backends;
use crate::web_client::*;

fn jpeg() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.resize(3_000, 7);
    bytes
}

async fn a_verifier_records_a_visit_and_proposes_a_move(app: TestApp) {
    let office = app.login("dinsos").await;
    let operator = app.login("warung-berkah").await;
    let mine = app.household_id(&office, DEMO_KKS[0]).await;
    let elsewhere = app.household_id(&office, DEMO_KKS[2]).await;
    let mut verifier = Browser::new(&app);
    verifier.login("verifikator").await;

    // The round: only their kelurahan's households.
    let round = verifier.get("/field").await;
    assert_eq!(round.status, StatusCode::OK);
    assert!(round.body.contains(&format!("/households/{mine}")));
    assert!(!round.body.contains(&format!("/households/{elsewhere}")));
    assert_eq!(
        verifier
            .get(&format!("/households/{elsewhere}"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        verifier.get("/households").await.status,
        StatusCode::FORBIDDEN
    );
    // The household's page: who lives there, never its money or cards.
    let page = verifier.get(&format!("/households/{mine}")).await;
    assert!(page.body.contains("Siti Rahmah"));
    assert!(!page.body.contains("id=\"balances\"") && !page.body.contains("id=\"cards\""));
    assert!(page.body.contains("id=\"record-visit\""));

    // A visit: a file that is not a photo is refused beside the photo, and nothing is kept.
    let form_path = format!("/households/{mine}/visits/new");
    let form = verifier.get(&form_path).await;
    let csrf = form.csrf();
    let post_path = format!("/households/{mine}/visits");
    let fields = [
        ("csrf", csrf.as_str()),
        ("visited_on", &today()),
        ("outcome", "moved_away"),
        ("note", "rumah kosong sejak Oktober"),
    ];
    let refused = verifier
        .post_multipart(
            &post_path,
            &fields,
            Some(("photo", "notes.pdf", "application/pdf", b"%PDF-1.7")),
        )
        .await;
    let refused = verifier.follow(&refused).await;
    assert!(
        refused.body.contains("id=\"photo-error\""),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("rumah kosong sejak Oktober"),
        "what was typed is kept"
    );
    assert!(
        !app.data_dir.path().join("photos").exists()
            || std::fs::read_dir(app.data_dir.path().join("photos"))
                .unwrap()
                .count()
                == 0
    );
    // With a photo of the house.
    let photo = jpeg();
    let saved = verifier
        .post_multipart(
            &post_path,
            &fields,
            Some(("photo", "rumah.jpg", "image/jpeg", &photo)),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = verifier.get(&format!("/households/{mine}")).await;
    assert!(page.body.contains("id=\"visit-list\""), "{}", page.body);
    assert!(page.body.contains("Keluarga sudah pindah"));
    let photo_link = between(&page.body, "<a href=\"/visits/", "\"");
    let shown = verifier.get(&format!("/visits/{photo_link}")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.headers["content-type"], "image/jpeg");

    // What the visit found is proposed: moved away, on the household's status page.
    let status_path = format!("/households/{mine}/status");
    let status_form = verifier.get(&status_path).await;
    let revision = between(&status_form.body, "name=\"revision\" value=\"", "\"");
    let proposed = verifier
        .post(
            &status_path,
            &[
                ("csrf", &csrf),
                ("revision", &revision),
                ("status", "exited"),
                ("ground", "moved_away"),
                ("reason", "kunjungan: pindah ke Balikpapan"),
            ],
        )
        .await;
    assert!(
        proposed.location().starts_with("/change-requests/"),
        "{}",
        proposed.body
    );
    let request = verifier.follow(&proposed).await;
    assert!(request.body.contains("id=\"cards-held\""));
    assert!(
        !request.body.contains("id=\"approve\""),
        "a verifier decides nothing"
    );
    let round = verifier.get("/field").await;
    assert!(round.body.contains("id=\"my-requests\""));
    // Held at the terminal until the office decides.
    let refused = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00001", "000701", DEMO_PANS[0], 1, "13500"),
        )
        .await
        .expect(200);
    assert_eq!(refused["response_code"], "78");
    approve_written_by(&app, &proposed, "dinsos").await;
    let household = app
        .get(&format!("/v1/households/{mine}"), &office)
        .await
        .expect(200);
    assert_eq!(household["status"], "exited");
}

on_both_backends!(a_verifier_records_a_visit_and_proposes_a_move);
