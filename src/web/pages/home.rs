//! The home page: the user's menu, and where each role usually goes next.

use askama::Template;
use askama_web::WebTemplate;

use crate::web::{error::WebError, layout::Layout, session::SignedIn};

#[derive(Template, WebTemplate)]
#[template(path = "home.html", config = "src/web/askama.toml")]
pub struct HomePage {
    layout: Layout,
}

pub async fn show(signed: SignedIn) -> Result<HomePage, WebError> {
    Ok(HomePage {
        layout: Layout::new(&signed, "/"),
    })
}
