#pragma once

// The station's issuing CA: device TLS client certificates, signed inside the HSM.
// Profile: docs/certificate-profile.md.

#include "hsm/csr_check.h"
#include "hsm/device_cert_builder.h"
#include "hsm/x509_sign.h"

#include <memory>

namespace keyline::hsm {

struct DeviceCertificateProfile {
    QString customerId;      // subject O
    QString environment;     // subject OU: "dev" or "prod"
    int validityDays = 3650; // clamped to the CA certificate's notAfter
};

class IssuingCa {
public:
    // `signer` holds the CA key (Hsm::signer(issuing CA URI)); `caCertificateDer` is its
    // certificate. Checks the certificate is a CA for key-cert signing, that the signer's key is
    // the certificate's, and that a test signature verifies.
    static Result<std::unique_ptr<IssuingCa>> create(std::shared_ptr<const Signer> signer,
                                                     const QByteArray& caCertificateDer);

    // A new certificate for a checked CSR, with the serial it was given. Thread-safe.
    struct Leaf {
        QByteArray der;
        QByteArray serial; // the INTEGER's content octets: 16 bytes, positive, no padding
    };
    Result<Leaf> issueLeaf(const CheckedCsr& csr, const DeviceCertificateProfile& profile) const;

    // DER of a new certificate for a checked CSR. Thread-safe.
    Result<QByteArray> issue(const CheckedCsr& csr, const DeviceCertificateProfile& profile) const;

    // checkDeviceCsr() then issue(): the engineer tool's one call.
    Result<QByteArray> issueFromCsr(const QByteArray& csr, const QString& expectedDeviceId,
                                    const DeviceCertificateProfile& profile) const;

    const QByteArray& caCertificateDer() const { return m_caDer; }

private:
    IssuingCa() = default;
    std::shared_ptr<const Signer> m_signer;
    QByteArray m_caDer;
    X509Ptr m_ca;
    std::unique_ptr<DeviceCertificateBuilder> m_builder;
};

} // namespace keyline::hsm
