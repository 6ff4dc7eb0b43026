#pragma once

// The vendor keystore signing key of the device tests: an in-memory signer (no HSM: the device
// side only needs the public key) whose public key sits in a PEM file that suiteOptions() hands
// to the simulator, plus keystores signed by it or by someone else.
#include "common/signer.h"

#include <QByteArray>
#include <QString>
#include <memory>

namespace keyline::devicetest {

class VendorKeystoreKey {
public:
    // One per test process: created on first use, its PEM file removed at exit.
    static const VendorKeystoreKey& instance();

    QString publicKeyPath() const;
    const Signer& signer() const;

    // A valid version-1 keystore (three fresh customer keys) signed by this vendor.
    QByteArray keystore(quint64 serial = 1) const;

    ~VendorKeystoreKey();
    VendorKeystoreKey(const VendorKeystoreKey&) = delete;
    VendorKeystoreKey& operator=(const VendorKeystoreKey&) = delete;

private:
    VendorKeystoreKey();
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// A keystore that is well-formed but signed by another vendor's key.
QByteArray otherVendorKeystore(quint64 serial = 1);
// A signed keystore with one byte of the customer ID changed after signing.
QByteArray forgedKeystore();
// The keystore's signed part alone, with no signature fields: what an attacker without the key
// could produce.
QByteArray unsignedKeystore();

} // namespace keyline::devicetest
