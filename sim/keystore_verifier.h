#pragma once

#include "common/result.h"
#include "firmware_image/keystore.h"

#include <QByteArray>
#include <QString>

namespace keyline::sim {

// What the device's boot ROM does with a keystore before storing it (docs/keystore-format.md):
// the full format check and the vendor signature against the vendor keystore signing key it was
// manufactured with, then anti-rollback against the keystore it already holds. The simulator
// gets that key from `--vendor-key` (SimOptions::vendorKeystoreKeyPath); a device without one
// refuses every keystore rather than trusting an unsigned one.
class KeystoreVerifier {
public:
    // `vendorKey`: the vendor keystore signing public key, from loadVendorKey(); null means
    // none is installed.
    explicit KeystoreVerifier(firmware::PublicKey vendorKey = {});

    // Reads and parses a vendor key file (a P-256 public key, PEM or DER), once for every
    // device. InvalidArgument naming the file when it is
    // missing or not such a key: a typo must not give devices that silently refuse every
    // keystore.
    static Result<firmware::PublicKey> loadVendorKey(const QString& path);

    bool hasVendorKey() const { return !m_vendorKey.isNull(); }

    // `stored` is the keystore the device holds now (empty: none). The error message is what
    // the device answers with keystore-rejected.
    Result<void> verify(const QByteArray& keystore, const QByteArray& stored) const;

private:
    firmware::PublicKey m_vendorKey;
};

} // namespace keyline::sim
