//! `sqlx::migrate!` embeds the migration files at compile time; without this, adding a file to
//! `migrations/` would not rebuild the binary that should apply it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
