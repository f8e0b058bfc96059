//! How long free text may be, named once: the API checks them, the pages check them and their
//! forms set them as `maxlength`, so a form never lets a clerk type what its check refuses.

/// A person's, a kiosk's or a program's name, a street, an account holder, a file's name.
pub const NAME_CHARS: usize = 200;
/// Why something was changed, blocked or resolved.
pub const REASON_CHARS: usize = 500;
/// A kelurahan or a kecamatan.
pub const AREA_CHARS: usize = 100;
/// A terminal's serial number.
pub const SERIAL_CHARS: usize = 64;
/// A catalog item's unit (`kg`, `liter`).
pub const UNIT_CHARS: usize = 20;
