#pragma once

// What the package commands plug into firmware_image's seams: the HSM for sealing (AES-256-GCM
// with the image key inside the HSM; the key never leaves it, the IV is chosen there) —
// firmware_image does not link keyline::hsm, this adapter is where the two meet — and, for the
// customer-side `package sign-app`, a signer over a PEM private key the customer owns.

#include "firmware_image/package.h"
#include "hsm/hsm.h"

namespace keyline::station {

class HsmOsSealer final : public firmware::OsSealer {
public:
    HsmOsSealer(hsm::Hsm& hsm, hsm::KeyUri imageKey)
        : m_hsm(hsm)
        , m_key(std::move(imageKey)) {}
    Result<std::unique_ptr<firmware::OsSealStream>> begin(const QByteArray& aad) override;

private:
    hsm::Hsm& m_hsm;
    hsm::KeyUri m_key;
};

// For `keyline package verify`: the OS tag checked in the HSM; the plaintext is only hashed.
class HsmOsOpener final : public firmware::OsOpener {
public:
    HsmOsOpener(hsm::Hsm& hsm, hsm::KeyUri imageKey)
        : m_hsm(hsm)
        , m_key(std::move(imageKey)) {}
    Result<std::unique_ptr<firmware::OsOpenStream>>
    begin(const QByteArray& iv, const QByteArray& aad, const QByteArray& tag) override;

private:
    hsm::Hsm& m_hsm;
    hsm::KeyUri m_key;
};

// A P-256 private key from an unencrypted PEM file: InvalidArgument naming the file otherwise.
// The customer's key, on the customer's machine: never the station's HSM keys.
Result<std::unique_ptr<Signer>> loadPemSigner(const QString& path);

} // namespace keyline::station
