#pragma once

// The image-key steps of the production ceremony (docs/key-inventory.md, step 4). The image key
// is one secret shared by every line HSM of a product generation, so it is imported, never
// generated per station: the station makes an RSA-3072 transport key pair in its HSM and hands
// out the public half; the product's key-management HSM RSA-OAEP-wraps the image key under it;
// the station unwraps it inside the HSM (C_UnwrapKey), so the key is never in clear outside an
// HSM, and prints its key check value for the ceremony minutes.

#include "hsm/pkcs11_hsm.h"

namespace keyline::hsm {

inline constexpr int kTransportKeyBits = 3072;

struct TransportKey {
    QByteArray publicKeySpki; // DER SubjectPublicKeyInfo of the RSA public key
    bool created = false;     // false: the pair from an earlier run was still there
};

// Generates keyline-transport-key (RSA-3072, e=65537; private half sensitive,
// non-extractable, CKA_UNWRAP only) unless it is there already, and returns its public key.
// Refused when the image key is already on the token (there is nothing left to import).
Result<TransportKey> makeTransportKey(Pkcs11Hsm& hsm);

// RSA-OAEP parameters of the wrap. SHA-256 with MGF1-SHA-256 is the rule; SoftHSM2 2.6 only
// implements SHA-1/MGF1-SHA-1 for OAEP, so a test or development token needs that one.
enum class OaepHash { Sha256, Sha1 };
// "sha256" or "sha1"; InvalidArgument otherwise.
Result<OaepHash> parseOaepHash(const QString& text);

// "1a2b3c", also with ':' or spaces between bytes: 3 bytes. InvalidArgument otherwise.
Result<QByteArray> parseKcv(const QString& text);

struct ImageKeyImport {
    QByteArray kcv;                    // 3 bytes: AES-256-ECB(image key, 0^16)[0..3)
    bool transportKeyDestroyed = true; // the transport pair is removed once it has served
};

// Unwraps `wrapped` (raw RSA-OAEP ciphertext, as long as the transport modulus) into
// keyline-image-key: AES-256, token, private, sensitive, extractable (only the burn's C_WrapKey
// takes it out), encrypt/decrypt for AES-GCM, nothing else. Refused when an image key exists;
// BadInput (nothing created) when `wrapped` is not a 32-byte key wrapped for this transport key;
// with `expectKcv` non-empty, VerificationFailed on a different KCV and the imported key is
// destroyed again.
Result<ImageKeyImport> importImageKey(Pkcs11Hsm& hsm, const QByteArray& wrapped, OaepHash hash,
                                      const QByteArray& expectKcv);

} // namespace keyline::hsm
