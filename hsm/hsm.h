#pragma once

// The HSM as the rest of the station sees it. The engine and the command line hold an `Hsm&`;
// tests and the engine's own tests can inject a fake. The PKCS#11 implementation is Pkcs11Hsm.

#include "common/signer.h"
#include "hsm/key_uri.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <memory>
#include <vector>

namespace keyline::hsm {

// One key as `keyline hsm keys` shows it.
struct KeyInfo {
    QString label;
    QByteArray id;
    QString keyClass; // "private" or "secret"
    QString type;     // "EC P-256", "AES-256", or the raw type for anything else
    QString purpose;  // from the key inventory, "(not in the inventory)" for unknown keys
    bool sensitive = false;
    bool extractable = true;
    bool alwaysSensitive = false;
    bool neverExtractable = false;
    bool hasCertificate = false;
    QString uri; // RFC 7512 URI that names it in keyline.conf
};

// What the station sends in otp-burn, plus what it expects back. Map to
// protocol::OtpBurnRequest{stationPublicKey, wrappedKey}; keep expectedKcv to compare with the
// device's otp-status key_check_value.
struct ImageKeyBurn {
    QByteArray stationPublicKey; // 65-byte uncompressed P-256 point of the station's fresh key
    QByteArray wrappedKey;       // RFC 5649 AES key wrap of the image key (40 bytes for AES-256)
    QByteArray expectedKcv;      // 3 bytes: AES-256-ECB(image key, 0^16)[0..3)
};

// AES-256-GCM with a key that never leaves the HSM (docs/security-model.md, "AES-GCM and IVs").
inline constexpr int kGcmIvBytes = 12;  // 96-bit IV: the GCM fast path, no GHASH of the IV
inline constexpr int kGcmTagBytes = 16; // full 128-bit tag; truncated tags are never used

struct GcmSealed {
    QByteArray iv;         // 12 random bytes chosen by the HSM side, never by the caller
    QByteArray ciphertext; // as long as the plaintext
    QByteArray tag;        // 16 bytes
};

// One chunked AES-GCM encryption (C_EncryptInit/Update/Final on one HSM session), so a 64 MB
// image is encrypted without holding it twice. Dropping it before finish() abandons the
// operation. It must not outlive the Hsm that made it.
class GcmEncryption {
public:
    virtual ~GcmEncryption() = default;
    // The random IV of this operation: store it beside the ciphertext.
    virtual QByteArray iv() const = 0;
    // Ciphertext for the data so far; a module may hold back bytes until later calls.
    virtual Result<QByteArray> update(QByteArrayView plaintext) = 0;
    struct Tail {
        QByteArray ciphertext; // what the module held back
        QByteArray tag;
    };
    virtual Result<Tail> finish() = 0;
};

// One chunked AES-GCM decryption. What update() returns is NOT authentic until finish()
// succeeds: a caller must discard all of it when finish() fails. (SoftHSM2 returns nothing
// before the tag is checked; other HSMs may.) VerificationFailed when the tag does not match.
class GcmDecryption {
public:
    virtual ~GcmDecryption() = default;
    virtual Result<QByteArray> update(QByteArrayView ciphertext) = 0;
    virtual Result<QByteArray> finish() = 0;
};

class Hsm {
public:
    virtual ~Hsm() = default;

    // Every private and secret key on the token, sorted by label.
    virtual Result<std::vector<KeyInfo>> listKeys() = 0;

    // A signer for an EC P-256 private key. Thread-safe; parallel calls use separate sessions.
    virtual Result<std::shared_ptr<Signer>> signer(const KeyUri& key) = 0;

    // DER of the X.509 certificate object with the key's label.
    virtual Result<QByteArray> certificate(const KeyUri& key) = 0;

    // DER SubjectPublicKeyInfo of an EC key (from its public key object or certificate).
    virtual Result<QByteArray> publicKey(const KeyUri& key) = 0;

    // Key check value of a secret key (CKA_CHECK_VALUE): 3 bytes.
    virtual Result<QByteArray> keyCheckValue(const KeyUri& key) = 0;

    // The otp-burn payload for a device whose ephemeral P-256 point the caller has already
    // verified (signed by the genuine chip's identity key). All key material stays in the HSM.
    virtual Result<ImageKeyBurn> wrapImageKeyForDevice(const KeyUri& imageKey,
                                                       const QByteArray& devicePublicKey) = 0;

    // AES-256-GCM with the secret key `key` (the image decryption key). The IV is 96 random
    // bits from the HSM's generator for every encryption; a caller can never choose it, so it
    // is never reused by mistake. The defaults say the HSM offers no AES-GCM (test fakes).
    virtual Result<std::unique_ptr<GcmEncryption>> beginGcmEncrypt(const KeyUri& key,
                                                                   const QByteArray& aad);
    virtual Result<std::unique_ptr<GcmDecryption>> beginGcmDecrypt(const KeyUri& key,
                                                                   const QByteArray& iv,
                                                                   const QByteArray& aad,
                                                                   const QByteArray& tag);

    // One-shot forms over the streaming ones (1 MiB chunks): the output is the only copy made.
    Result<GcmSealed> gcmEncrypt(const KeyUri& key, QByteArrayView plaintext,
                                 const QByteArray& aad);
    Result<QByteArray> gcmDecrypt(const KeyUri& key, const GcmSealed& sealed,
                                  const QByteArray& aad);
};

} // namespace keyline::hsm
