//! ISO 9564-1 format 4 PIN blocks: the PIN never crosses the serial line or the network in clear.
//! The terminal enciphers the PIN under its own AES-128 key (provisioned when the terminal is
//! registered) bound to the card number; the host deciphers it with the same key and checks the
//! PIN against the card's verification value.
//!
//! Format 4: plain PIN field `4 | N | PIN digits | A…A` (16 nibbles) followed by 8 random bytes;
//! PAN field `M | PAN digits | 0…0` where the PAN has 12 + M digits. Enciphered block =
//! `AES(K, AES(K, PIN field) XOR PAN field)`. The random half makes every block different, so a
//! recorded block says nothing about the PIN and two purchases with one PIN do not look alike.

use aes::{
    cipher::{generic_array::GenericArray, BlockDecrypt, BlockEncrypt, KeyInit},
    Aes128,
};
use rand::{Rng, RngCore};
use zeroize::{Zeroize, Zeroizing};

pub const BLOCK_LEN: usize = 16;
const FORMAT: u8 = 4;
const FILL: u8 = 0xA;

/// A terminal's PIN encryption key (AES-128). Never printed; wiped on drop.
#[derive(Clone)]
pub struct TerminalKey(Zeroizing<[u8; 16]>);

impl std::fmt::Debug for TerminalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TerminalKey(kcv {})", self.check_value())
    }
}

/// The PIN key `ssn serve --demo` gives its terminals and `terminal-sim` uses unless told
/// otherwise (check value 47A663). Demo only: real terminals each get a random key.
pub const DEMO_KEY_HEX: &str = "53534E2D44454D4F2D50494E2D4B4559";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinBlockError {
    #[error("a terminal key is 32 hex digits")]
    BadKey,
    #[error("a PIN block is {BLOCK_LEN} bytes")]
    BadLength,
    #[error("the PIN block does not decipher to a format 4 PIN field (wrong key or card)")]
    NotFormat4,
    #[error("the card number must be 1 to 19 digits")]
    BadPan,
    #[error("a PIN is 4 to 12 digits")]
    BadPin,
}

impl TerminalKey {
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 16]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        Self(key)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PinBlockError> {
        let key: [u8; 16] = bytes.try_into().map_err(|_| PinBlockError::BadKey)?;
        Ok(Self(Zeroizing::new(key)))
    }

    pub fn from_hex(text: &str) -> Result<Self, PinBlockError> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| PinBlockError::BadKey)?);
        Self::from_bytes(&bytes)
    }

    /// The key in hex, for loading it into a terminal once. Handle like a password.
    pub fn expose_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode_upper(self.0.as_ref()))
    }

    pub fn expose_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Key check value: the first three bytes of the key enciphering a zero block, in hex, as
    /// printed on key forms so two parties can confirm they hold the same key without showing it.
    pub fn check_value(&self) -> String {
        let mut block = GenericArray::from([0u8; 16]);
        self.cipher().encrypt_block(&mut block);
        hex::encode_upper(&block[..3])
    }

    fn cipher(&self) -> Aes128 {
        Aes128::new(GenericArray::from_slice(self.0.as_ref()))
    }
}

/// Enciphers `pin` (4 to 12 digits) for card `pan` under the terminal's key (what the terminal's
/// PIN pad does).
pub fn encipher(
    key: &TerminalKey,
    pin: &str,
    pan: &str,
    rng: &mut impl Rng,
) -> Result<[u8; BLOCK_LEN], PinBlockError> {
    let pan_field = pan_field(pan)?;
    let digits = pin.as_bytes();
    if !(4..=12).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
        return Err(PinBlockError::BadPin);
    }
    let mut nibbles = Zeroizing::new([FILL; 16]);
    nibbles[0] = FORMAT;
    nibbles[1] = digits.len() as u8;
    for (slot, digit) in nibbles[2..].iter_mut().zip(digits) {
        *slot = digit - b'0';
    }
    let mut block = GenericArray::from([0u8; BLOCK_LEN]);
    for (index, pair) in nibbles.chunks(2).enumerate() {
        block[index] = (pair[0] << 4) | pair[1];
    }
    rng.fill_bytes(&mut block[8..]);
    let cipher = key.cipher();
    cipher.encrypt_block(&mut block);
    for (byte, pan_byte) in block.iter_mut().zip(pan_field) {
        *byte ^= pan_byte;
    }
    cipher.encrypt_block(&mut block);
    Ok(block.into())
}

/// Recovers the PIN's digits from a block, checking that it is a well-formed format 4 field for
/// this card. The digits are wiped from memory when dropped.
pub fn decipher(
    key: &TerminalKey,
    block: &[u8],
    pan: &str,
) -> Result<Zeroizing<String>, PinBlockError> {
    let block: [u8; BLOCK_LEN] = block.try_into().map_err(|_| PinBlockError::BadLength)?;
    let pan_field = pan_field(pan)?;
    let cipher = key.cipher();
    let mut work = GenericArray::from(block);
    cipher.decrypt_block(&mut work);
    for (byte, pan_byte) in work.iter_mut().zip(pan_field) {
        *byte ^= pan_byte;
    }
    cipher.decrypt_block(&mut work);
    let mut nibbles = Zeroizing::new([0u8; 16]);
    for (index, byte) in work[..8].iter().enumerate() {
        nibbles[2 * index] = byte >> 4;
        nibbles[2 * index + 1] = byte & 0x0F;
    }
    work.as_mut_slice().zeroize();
    let length = usize::from(nibbles[1]);
    let well_formed = nibbles[0] == FORMAT
        && (4..=12).contains(&length)
        && nibbles[2..2 + length].iter().all(|&n| n <= 9)
        && nibbles[2 + length..].iter().all(|&n| n == FILL);
    if !well_formed {
        return Err(PinBlockError::NotFormat4);
    }
    Ok(Zeroizing::new(
        nibbles[2..2 + length]
            .iter()
            .map(|&n| char::from(b'0' + n))
            .collect(),
    ))
}

/// `M | PAN digits | 0…0`, where the PAN has 12 + M digits (shorter PANs are left-padded to 12).
fn pan_field(pan: &str) -> Result<[u8; BLOCK_LEN], PinBlockError> {
    if pan.is_empty() || pan.len() > 19 || !pan.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PinBlockError::BadPan);
    }
    let padded = format!("{pan:0>12}");
    let mut nibbles = [0u8; 32];
    nibbles[0] = (padded.len() - 12) as u8;
    for (slot, digit) in nibbles[1..].iter_mut().zip(padded.bytes()) {
        *slot = digit - b'0';
    }
    let mut field = [0u8; BLOCK_LEN];
    for (index, pair) in nibbles.chunks(2).enumerate() {
        field[index] = (pair[0] << 4) | pair[1];
    }
    Ok(field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const PAN: &str = "6019010000000001";

    fn key() -> TerminalKey {
        TerminalKey::from_hex("00112233445566778899AABBCCDDEEFF").unwrap()
    }

    #[test]
    fn a_block_deciphers_to_its_pin_only_with_the_same_key_and_card() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let block = encipher(&key(), "123456", PAN, &mut rng).unwrap();
        assert_eq!(decipher(&key(), &block, PAN).unwrap().as_str(), "123456");
        let other_key = TerminalKey::from_hex("FFEEDDCCBBAA99887766554433221100").unwrap();
        assert_eq!(
            decipher(&other_key, &block, PAN).unwrap_err(),
            PinBlockError::NotFormat4
        );
        assert_eq!(
            decipher(&key(), &block, "6019010000000002").unwrap_err(),
            PinBlockError::NotFormat4
        );
        assert_eq!(
            decipher(&key(), &block[..8], PAN).unwrap_err(),
            PinBlockError::BadLength
        );
    }

    #[test]
    fn the_same_pin_never_gives_the_same_block_twice() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let first = encipher(&key(), "1234", PAN, &mut rng).unwrap();
        let second = encipher(&key(), "1234", PAN, &mut rng).unwrap();
        assert_ne!(first, second);
        assert_eq!(decipher(&key(), &second, PAN).unwrap().as_str(), "1234");
        assert_eq!(
            encipher(&key(), "123", PAN, &mut rng).unwrap_err(),
            PinBlockError::BadPin
        );
    }

    #[test]
    fn fields_are_laid_out_as_iso_9564_format_4() {
        assert_eq!(
            hex::encode_upper(pan_field("6019010000000001").unwrap()),
            "46019010000000001000000000000000"
        );
        assert_eq!(
            hex::encode_upper(pan_field("1234").unwrap()),
            "00000000012340000000000000000000"
        );
        // docs/terminal-protocol.md prints the demo key's check value.
        let demo = TerminalKey::from_hex(DEMO_KEY_HEX).unwrap();
        assert_eq!(demo.check_value(), "47A663");
        let check = key().check_value();
        assert_eq!(check.len(), 6);
        assert_ne!(
            check,
            TerminalKey::from_hex("000102030405060708090A0B0C0D0E0F")
                .unwrap()
                .check_value()
        );
    }

    #[test]
    fn keys_are_checked_and_never_printed() {
        assert_eq!(
            TerminalKey::from_hex("00").unwrap_err(),
            PinBlockError::BadKey
        );
        assert!(!format!("{:?}", key()).contains("0011"));
    }
}
