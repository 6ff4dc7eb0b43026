#pragma once

// The HSM as the rest of the station sees it. The engine and the command line hold an `Hsm&`;
// tests and the engine's own tests can inject a fake. The PKCS#11 implementation is Pkcs11Hsm.

#include "common/signer.h"
#include "hsm/key_uri.h"

#include <QByteArray>
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
};

} // namespace keyline::hsm
