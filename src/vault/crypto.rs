//! Envelope encryption of stored card and account numbers, and keyed fingerprints of them.
//!
//! A 32-byte master key (from `VAULTQL_MASTER_KEY` or the key file) encrypts data keys; data
//! keys encrypt numbers with AES-256-GCM. Every ciphertext names its data key, so keys can be
//! rotated: new numbers use the newest key, old ones still open with theirs. The associated data
//! binds a ciphertext to its merchant, customer and card id, so a ciphertext copied into another
//! row does not decrypt. Duplicate cards are found through an HMAC-SHA256 fingerprint under a
//! separate key (PCI DSS 3.5.1.1 forbids unkeyed hashes of a PAN).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload, rand_core::RngCore};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::secret::Secret;

const NONCE_LEN: usize = 12;
const MASTER_KEY_FILE: &str = "master.key";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("VAULTQL_MASTER_KEY must be the base64 encoding of exactly 32 bytes")]
    BadMasterKey,
    #[error(
        "the master key does not open this database's data keys: set VAULTQL_MASTER_KEY (or the key file) it was created with"
    )]
    WrongMasterKey,
    #[error("ciphertext could not be opened (wrong key, tampered, or moved to another record)")]
    Open,
    #[error("ciphertext names data key {0}, which this vault does not have")]
    UnknownKey(i64),
    #[error("could not read or create the master key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
}

/// The key that encrypts the data keys. Never printed, wiped on drop.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    pub fn from_base64(encoded: &str) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(
            BASE64
                .decode(encoded.trim())
                .map_err(|_| CryptoError::BadMasterKey)?,
        );
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::BadMasterKey)?;
        Ok(Self(Zeroizing::new(key)))
    }

    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(key.as_mut());
        Self(key)
    }

    /// Reads `master.key` in `data_dir`, creating it (mode 0600) with a fresh key on first start.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, CryptoError> {
        let path = data_dir.join(MASTER_KEY_FILE);
        let io_err = |source| CryptoError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(&Zeroizing::new(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                let mut options = fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(&path).map_err(io_err)?;
                file.write_all(key.to_base64().as_bytes()).map_err(io_err)?;
                Ok(key)
            }
            Err(e) => Err(io_err(e)),
        }
    }

    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(BASE64.encode(self.0.as_slice()))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.0.as_slice()))
    }
}

/// What a stored key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPurpose {
    Data,
    Fingerprint,
}

impl KeyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Data => "data",
            Self::Fingerprint => "fingerprint",
        }
    }

    fn aad(self) -> &'static [u8] {
        match self {
            Self::Data => b"vaultql/data-key/v1",
            Self::Fingerprint => b"vaultql/fingerprint-key/v1",
        }
    }
}

/// A key as stored: its id, purpose and the key itself encrypted under the master key.
#[derive(Debug, Clone)]
pub struct WrappedKey {
    pub key_id: i64,
    pub purpose: KeyPurpose,
    pub wrapped: Vec<u8>,
}

impl WrappedKey {
    /// A key as a `vault_keys` row holds it: `(key_id, purpose, wrapped)`.
    pub fn from_row((key_id, purpose, wrapped): (i64, String, Vec<u8>)) -> Self {
        let purpose = if purpose == KeyPurpose::Fingerprint.as_str() {
            KeyPurpose::Fingerprint
        } else {
            KeyPurpose::Data
        };
        Self {
            key_id,
            purpose,
            wrapped,
        }
    }
}

/// Encrypts a fresh random key of `purpose` under the master key, for storing.
pub fn new_wrapped_key(master: &MasterKey, purpose: KeyPurpose) -> Vec<u8> {
    let mut key = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(key.as_mut());
    seal_with(&master.cipher(), key.as_slice(), purpose.aad())
}

/// A ciphertext and the id of the data key that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: i64,
    /// nonce (12 bytes) followed by the AES-GCM ciphertext and tag.
    pub blob: Vec<u8>,
}

/// The unwrapped keys in memory: every data key by id (the newest one encrypts), and the
/// fingerprint key.
pub struct KeyRing {
    data_keys: BTreeMap<i64, Aes256Gcm>,
    fingerprint_key: Zeroizing<Vec<u8>>,
}

impl KeyRing {
    /// Unwraps the stored keys. Needs at least one data key and exactly one fingerprint key.
    pub fn unwrap(master: &MasterKey, keys: &[WrappedKey]) -> Result<Self, CryptoError> {
        let cipher = master.cipher();
        let mut data_keys = BTreeMap::new();
        let mut fingerprint_key = None;
        for key in keys {
            let plain = open_with(&cipher, &key.wrapped, key.purpose.aad())
                .map_err(|_| CryptoError::WrongMasterKey)?;
            match key.purpose {
                KeyPurpose::Data => {
                    let data_key = Aes256Gcm::new_from_slice(&plain)
                        .map_err(|_| CryptoError::WrongMasterKey)?;
                    data_keys.insert(key.key_id, data_key);
                }
                KeyPurpose::Fingerprint => fingerprint_key = Some(plain),
            }
        }
        match (data_keys.is_empty(), fingerprint_key) {
            (false, Some(fingerprint_key)) => Ok(Self {
                data_keys,
                fingerprint_key,
            }),
            _ => Err(CryptoError::WrongMasterKey),
        }
    }

    /// Encrypts under the newest data key.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Sealed {
        let (key_id, cipher) = self
            .data_keys
            .last_key_value()
            .expect("a key ring always holds a data key");
        Sealed {
            key_id: *key_id,
            blob: seal_with(cipher, plaintext, aad),
        }
    }

    pub fn open(&self, sealed: &Sealed, aad: &[u8]) -> Result<Secret<String>, CryptoError> {
        let cipher = self
            .data_keys
            .get(&sealed.key_id)
            .ok_or(CryptoError::UnknownKey(sealed.key_id))?;
        let plain = open_with(cipher, &sealed.blob, aad)?;
        String::from_utf8(plain.to_vec())
            .map(Secret::new)
            .map_err(|_| CryptoError::Open)
    }

    /// A keyed fingerprint of a number, scoped to the merchant so that fingerprints of two
    /// merchants cannot be compared.
    pub fn fingerprint(&self, merchant_id: i64, number: &str) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.fingerprint_key)
            .expect("HMAC takes keys of any length");
        mac.update(merchant_id.to_string().as_bytes());
        mac.update(b":");
        mac.update(number.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// A random id of `len` letters and digits (card ids, generated customer ids).
pub fn random_alphanumeric(len: usize) -> String {
    random_alphanumerics(1, len).pop().unwrap_or_default()
}

/// `count` random ids of `len` letters and digits, from as few reads of the system's random
/// source as the bytes allow (the billing engine makes hundreds at once).
pub fn random_alphanumerics(count: usize, len: usize) -> Vec<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // Rejection sampling keeps 248 of 256 byte values, so this is almost always one read.
    let mut buf = vec![0u8; (count * len + count * len / 16 + 16).min(64 * 1024)];
    let mut next = buf.len();
    let mut byte = || loop {
        if next == buf.len() {
            OsRng.fill_bytes(&mut buf);
            next = 0;
        }
        let b = buf[next];
        next += 1;
        // 248 is the largest multiple of 62 below 256, so every letter is equally likely.
        if b < 248 {
            return ALPHABET[usize::from(b) % ALPHABET.len()] as char;
        }
    };
    (0..count)
        .map(|_| (0..len).map(|_| byte()).collect())
        .collect()
}

/// The associated data that ties a stored number to its merchant, customer and card id.
/// Customer and card ids are alphanumeric, so `:` separates them unambiguously.
pub fn number_aad(merchant_id: i64, customer_id: &str, card_id: &str) -> Vec<u8> {
    format!("vaultql/number/v1:{merchant_id}:{customer_id}:{card_id}").into_bytes()
}

fn seal_with(cipher: &Aes256Gcm, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("AES-GCM encryption of a small buffer cannot fail");
    let mut blob = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&ciphertext);
    blob
}

fn open_with(
    cipher: &Aes256Gcm,
    blob: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if blob.len() < NONCE_LEN {
        return Err(CryptoError::Open);
    }
    let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(master: &MasterKey, extra_data_keys: i64) -> (KeyRing, Vec<WrappedKey>) {
        let mut keys = vec![WrappedKey {
            key_id: 1,
            purpose: KeyPurpose::Fingerprint,
            wrapped: new_wrapped_key(master, KeyPurpose::Fingerprint),
        }];
        for key_id in 2..=2 + extra_data_keys {
            keys.push(WrappedKey {
                key_id,
                purpose: KeyPurpose::Data,
                wrapped: new_wrapped_key(master, KeyPurpose::Data),
            });
        }
        (KeyRing::unwrap(master, &keys).unwrap(), keys)
    }

    #[test]
    fn sealed_numbers_round_trip_and_two_seals_differ() {
        let master = MasterKey::generate();
        let (ring, _) = ring(&master, 0);
        let aad = number_aad(1001, "JOHN", "card1");
        let a = ring.seal(b"4111111111111111", &aad);
        let b = ring.seal(b"4111111111111111", &aad);
        assert_ne!(a.blob, b.blob);
        assert_eq!(ring.open(&a, &aad).unwrap().expose(), "4111111111111111");
        assert!(!a.blob.windows(16).any(|w| w == b"4111111111111111"));
    }

    #[test]
    fn a_ciphertext_moved_to_another_record_does_not_open() {
        let master = MasterKey::generate();
        let (ring, _) = ring(&master, 0);
        let sealed = ring.seal(b"4111111111111111", &number_aad(1001, "JOHN", "card1"));
        for aad in [
            number_aad(2002, "JOHN", "card1"),
            number_aad(1001, "JANE", "card1"),
            number_aad(1001, "JOHN", "card2"),
        ] {
            assert!(matches!(ring.open(&sealed, &aad), Err(CryptoError::Open)));
        }
    }

    #[test]
    fn tampered_bytes_do_not_open() {
        let master = MasterKey::generate();
        let (ring, _) = ring(&master, 0);
        let aad = number_aad(1, "C", "K");
        let mut sealed = ring.seal(b"4111111111111111", &aad);
        let last = sealed.blob.len() - 1;
        sealed.blob[last] ^= 1;
        assert!(ring.open(&sealed, &aad).is_err());
        sealed.blob.truncate(5);
        assert!(ring.open(&sealed, &aad).is_err());
    }

    #[test]
    fn rotation_keeps_old_ciphertexts_readable() {
        let master = MasterKey::generate();
        let (old_ring, mut keys) = ring(&master, 0);
        let aad = number_aad(1, "C", "K");
        let old = old_ring.seal(b"5555555555554444", &aad);
        keys.push(WrappedKey {
            key_id: 9,
            purpose: KeyPurpose::Data,
            wrapped: new_wrapped_key(&master, KeyPurpose::Data),
        });
        let new_ring = KeyRing::unwrap(&master, &keys).unwrap();
        let new = new_ring.seal(b"5555555555554444", &aad);
        assert_eq!(new.key_id, 9);
        assert_eq!(
            new_ring.open(&old, &aad).unwrap().expose(),
            "5555555555554444"
        );
    }

    #[test]
    fn a_wrong_master_key_is_refused() {
        let master = MasterKey::generate();
        let (_, keys) = ring(&master, 0);
        let other = MasterKey::generate();
        assert!(matches!(
            KeyRing::unwrap(&other, &keys),
            Err(CryptoError::WrongMasterKey)
        ));
    }

    #[test]
    fn fingerprints_are_keyed_and_scoped_to_the_merchant() {
        let master = MasterKey::generate();
        let (ring, _) = ring(&master, 0);
        let (other_ring, _) = self::ring(&master, 0);
        let a = ring.fingerprint(1001, "4111111111111111");
        assert_eq!(a, ring.fingerprint(1001, "4111111111111111"));
        assert_ne!(a, ring.fingerprint(2002, "4111111111111111"));
        assert_ne!(a, other_ring.fingerprint(1001, "4111111111111111"));
    }

    #[test]
    fn random_ids_have_the_length_and_alphabet_asked_for() {
        let id = random_alphanumeric(32);
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(id, random_alphanumeric(32));
    }

    #[test]
    fn master_keys_parse_only_from_32_bytes_of_base64() {
        let key = MasterKey::generate();
        assert!(MasterKey::from_base64(&key.to_base64()).is_ok());
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(MasterKey::from_base64(&BASE64.encode([0u8; 16])).is_err());
    }

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = MasterKey::load_or_create(dir.path()).unwrap();
        let again = MasterKey::load_or_create(dir.path()).unwrap();
        assert_eq!(*first.to_base64(), *again.to_base64());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(MASTER_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
