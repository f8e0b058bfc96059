//! A household's members on the office's pages: added, refused beside the field, corrected,
//! the head changed, taken off; two tabs at one revision; read-only for an auditor.

use reqwest::StatusCode;

use crate::common::*;
use crate::on_both_backends;
use crate::web_client::*;

/// The `revision` hidden field of a form.
fn revision_of(page: &Page) -> String {
    between(&page.body, "name=\"revision\" value=\"", "\"")
}

/// The id in the first link to `/households/{id}/members/{member}/{action}` after `name`.
fn member_link(page: &Page, name: &str, action: &str) -> String {
    let from = &page.body[page.body.find(name).expect("the member is listed")..];
    let at = from.find("/members/").expect("a member link") + "/members/".len();
    let id = &from[at..at + 36];
    assert!(from[at + 36..].starts_with(&format!("/{action}")) || action.is_empty());
    id.to_string()
}

async fn the_office_keeps_a_family_card_on_its_pages(app: TestApp) {
    let token = app.login("dinsos").await;
    let id = app.household_id(&token, DEMO_KKS[2]).await;
    let mut browser = Browser::new(&app);
    browser.login("dinsos").await;
    let page = browser.get(&format!("/households/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"member-list\""), "{}", page.body);
    assert!(
        page.body.contains("Kepala keluarga"),
        "the head is listed as such"
    );
    assert!(
        !page.body.contains("id=\"change-head\""),
        "no one else to name head yet"
    );

    // A NIK that does not match the birth date: refused beside the field, values kept.
    let new_path = format!("/households/{id}/members/new");
    let form = browser.get(&new_path).await;
    let (csrf, revision) = (form.csrf(), revision_of(&form));
    let child = [
        ("csrf", csrf.as_str()),
        ("revision", revision.as_str()),
        ("nik", "6472 0141 0715 0031"),
        ("name", "Nur Aisyah"),
        ("relation", "child"),
        ("sex", "female"),
        ("birth_date", "2015-07-02"),
        ("reason", "listed on the KK"),
    ];
    let refused = browser.post_refused(&new_path, &child, &new_path).await;
    assert!(
        refused.body.contains("id=\"nik-error\""),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("value=\"Nur Aisyah\""),
        "what was typed is kept"
    );
    // The same form sent twice (a double submit) proposes the change once.
    let mut fixed = child.to_vec();
    fixed[6] = ("birth_date", "2015-07-01");
    let saved = browser.post(&new_path, &fixed).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(saved.location().starts_with("/change-requests/"));
    let twice = browser.post_refused(&new_path, &fixed, &new_path).await;
    assert!(
        twice.body.contains("sudah diajukan untuk keluarga ini"),
        "{}",
        twice.body
    );
    // Two tabs on the same revision: once the first is approved, the second is told to reload.
    approve_written(&app, &mut browser, &saved).await;
    let mut second_tab = fixed.clone();
    second_tab[2] = ("nik", "6472012005780007");
    second_tab[3] = ("name", "Rudi");
    second_tab[4] = ("relation", "spouse");
    second_tab[5] = ("sex", "male");
    second_tab[6] = ("birth_date", "1978-05-20");
    let stale = browser
        .post_refused(&new_path, &second_tab, &new_path)
        .await;
    assert!(stale.body.contains("id=\"form-error\""), "{}", stale.body);
    // Submitting the first form again changes nothing either.
    let again = browser.post_refused(&new_path, &fixed, &new_path).await;
    assert!(again.body.contains("id=\"form-error\""), "{}", again.body);

    // Reloaded, the spouse is added; then the spouse becomes head, the former head his wife.
    let form = browser.get(&new_path).await;
    let revision = revision_of(&form);
    second_tab[0] = ("csrf", csrf.as_str());
    second_tab[1] = ("revision", revision.as_str());
    let added = browser.post(&new_path, &second_tab).await;
    approve_written(&app, &mut browser, &added).await;
    let page = browser.get(&format!("/households/{id}")).await;
    assert!(page.body.contains("Nur Aisyah") && page.body.contains("Rudi"));
    assert!(page.body.contains("id=\"change-head\""));
    let head_path = format!("/households/{id}/head");
    let head_form = browser.get(&head_path).await;
    let rudi = between(&head_form.body, "<option value=\"", "\">Rudi");
    let rudi = rudi.rsplit('"').next().unwrap().to_string();
    let revision = revision_of(&head_form);
    let headed = browser
        .post(
            &head_path,
            &[
                ("csrf", &csrf),
                ("revision", &revision),
                ("member", &rudi),
                ("former", "spouse"),
                ("reason", "KK reissued"),
            ],
        )
        .await;
    assert_eq!(headed.status, StatusCode::SEE_OTHER, "{}", headed.body);
    approve_written(&app, &mut browser, &headed).await;
    let household = app
        .get(&format!("/v1/households/{id}"), &token)
        .await
        .expect(200);
    assert_eq!(household["head_name"], "Rudi");

    // The girl is taken off, with a reason; without one the form says so.
    let page = browser.get(&format!("/households/{id}")).await;
    let girl = member_link(&page, "Nur Aisyah", "edit");
    let remove_path = format!("/households/{id}/members/{girl}/remove");
    let confirm = browser.get(&remove_path).await;
    assert_eq!(confirm.status, StatusCode::OK);
    let revision = revision_of(&confirm);
    let no_reason = browser
        .post_refused(
            &remove_path,
            &[("csrf", &csrf), ("revision", &revision), ("reason", " ")],
            &remove_path,
        )
        .await;
    assert!(
        no_reason.body.contains("id=\"reason-error\""),
        "{}",
        no_reason.body
    );
    let removed = browser
        .post(
            &remove_path,
            &[
                ("csrf", &csrf),
                ("revision", &revision),
                ("reason", "moved to her grandmother"),
            ],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    approve_written(&app, &mut browser, &removed).await;
    let page = browser.get(&format!("/households/{id}")).await;
    assert!(!page.body.contains("Nur Aisyah"));

    // An auditor reads the members but cannot change them, not even by typing the address.
    let mut auditor = Browser::new(&app);
    auditor.login("auditor").await;
    let read = auditor.get(&format!("/households/{id}")).await;
    assert!(read.body.contains("Rudi") && !read.body.contains("id=\"add-member\""));
    assert_eq!(auditor.get(&new_path).await.status, StatusCode::FORBIDDEN);
    // A member of another household is not found under this one.
    let other = app.household_id(&token, DEMO_KKS[3]).await;
    let typed = browser
        .get(&format!("/households/{other}/members/{girl}/edit"))
        .await;
    assert_eq!(typed.status, StatusCode::NOT_FOUND);
}

on_both_backends!(the_office_keeps_a_family_card_on_its_pages);
