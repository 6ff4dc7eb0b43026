#pragma once

// A customer and its releases for the device tests: the image key the test burns into OTP, the
// customer's application signing key, a keystore naming it (signed by the test vendor,
// VendorKeystoreKey), and real packages made by firmware_image's writer with the OS sealed by
// OpenSSL's AES-256-GCM, as the HSM seals it on a station. So the virtual wearable's secure
// install and boot are tested with the format code the station uses, and nothing is mocked.
#include "firmware/soft_signer.h"
#include "flashing/device_client.h"

#include <QByteArray>
#include <QString>

namespace keyline::devicetest {

struct Release {
    QString osVersion = QStringLiteral("1.0.0");
    quint64 osCounter = 1;
    QString appVersion = QStringLiteral("1.0.0");
    quint64 appCounter = 1;
    qsizetype osBytes = 200 * 1024; // split into two components
    QString hardware = QStringLiteral("KW-1 rev B");
};

// The deterministic filler of the kit's components (kernel 'k', rootfs 'r', application 'a'),
// so tests can recompute what the device measures.
QByteArray kitPattern(qsizetype size, char seed);

class PackageKit {
public:
    explicit PackageKit(QString customerId = QStringLiteral("acme-42"));

    const QByteArray& imageKey() const { return m_imageKey; }
    const QByteArray& keystore() const { return m_keystore; }
    const QString& customerId() const { return m_customer; }

    // Burns the image key (if OTP is blank) and writes the keystore, as the station's steps 2
    // and 3 would. Fails the test on any error.
    void prepare(flashing::DeviceClient& client) const;

    // A development package for this customer.
    QByteArray package(const Release& release = {}) const;

private:
    QString m_customer;
    QByteArray m_imageKey;
    test::SoftSigner m_appKey;
    QByteArray m_keystore;
};

} // namespace keyline::devicetest
