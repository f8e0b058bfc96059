//! User passwords, hashed with argon2id (a slow, memory-hard hash: a stolen table stays expensive
//! to crack). PINs are a different matter, see `auth::pin`.

use argon2::{
    password_hash::{
        rand_core::OsRng, Output, ParamsString, PasswordHash, PasswordHasher, PasswordVerifier,
        SaltString,
    },
    Algorithm, Argon2, Block, Params, Version,
};

use crate::domain::Invalid;

/// The shortest password accepted for a new user.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Passwords longer than this are refused rather than hashed (argon2 cost grows with input).
pub const MAX_PASSWORD_CHARS: usize = 256;

pub fn check_strength(password: &str) -> Result<(), Invalid> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(Invalid::new(
            "weak_password",
            format!("password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
        )
        .with("min", MIN_PASSWORD_CHARS)
        .with("max", MAX_PASSWORD_CHARS));
    }
    Ok(())
}

pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| anyhow::anyhow!("hashing password: {error}"))
}

/// Whether `password` matches `stored`. A malformed stored hash counts as no match.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The largest memory cost a stored hash may ask for (64 MiB): verifying a hash costs its `m`, so a
/// stored hash with an absurd one must not be able to exhaust the server.
const MAX_MEMORY_KIB: u32 = 64 * 1024;

/// [`hash`] with a memory block the caller keeps, so that many hashes reuse one allocation
/// instead of leaving a 19 MiB block with the allocator each time (see `auth::password_workers`).
pub fn hash_with(password: &str, memory: &mut Vec<Block>) -> anyhow::Result<String> {
    let params = Params::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|error| anyhow::anyhow!("salt: {error}"))?;
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon2
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt_bytes,
            &mut output,
            blocks(memory, &params),
        )
        .map_err(|error| anyhow::anyhow!("hashing password: {error}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)
            .map_err(|error| anyhow::anyhow!("hash parameters: {error}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output).map_err(|error| anyhow::anyhow!("hash output: {error}"))?),
    };
    Ok(phc.to_string())
}

/// [`verify`] with a memory block the caller keeps. A malformed stored hash, or one asking for
/// more than 64 MiB, counts as no match.
pub fn verify_with(password: &str, stored: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        Params::try_from(&parsed),
        Algorithm::try_from(parsed.algorithm),
    ) else {
        return false;
    };
    let version = parsed
        .version
        .map_or(Ok(Version::V0x13), Version::try_from)
        .unwrap_or(Version::V0x10);
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    if params.m_cost() > MAX_MEMORY_KIB {
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut output = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    if argon2
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt_bytes,
            &mut output,
            blocks(memory, &params),
        )
        .is_err()
    {
        return false;
    }
    // `Output`'s comparison takes constant time.
    Output::new(&output).is_ok_and(|computed| computed == expected)
}

/// The first `params.block_count()` blocks of `memory`, grown when a hash needs more.
fn blocks<'m>(memory: &'m mut Vec<Block>, params: &Params) -> &'m mut [Block] {
    let needed = params.block_count();
    if memory.len() < needed {
        memory.resize(needed, Block::default());
    }
    &mut memory[..needed]
}

/// A hash of a password nobody has, so a login for an unknown user costs the same time as a
/// login with a wrong password and does not reveal which usernames exist.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("not-a-real-password-for-timing").expect("argon2 hashes a constant"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_own_password() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse battery!", &stored));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn hashes_made_with_reused_memory_agree_with_the_library() {
        let mut memory = Vec::new();
        let stored = hash_with("correct horse battery", &mut memory).unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(
            verify("correct horse battery", &stored),
            "the library verifies ours"
        );
        let theirs = hash("correct horse battery").unwrap();
        assert!(verify_with("correct horse battery", &theirs, &mut memory));
        assert!(!verify_with("correct horse batter", &theirs, &mut memory));
        assert!(!verify_with(
            "x",
            "$argon2id$v=19$m=999999,t=2,p=1$c29tZXNhbHQ$aGFzaA",
            &mut memory
        ));
        assert!(!verify_with("x", "garbage", &mut memory));
        assert_eq!(
            memory.len(),
            Params::default().block_count(),
            "one block reused"
        );
    }
}
