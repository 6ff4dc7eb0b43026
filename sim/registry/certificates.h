#pragma once

// Certificate facts the registry decides on: the subject fields that carry identity
// (docs/certificate-profile.md), the key type, the SHA-256 of the DER that pins a registration,
// and chain verification against the CA files given on the command line. OpenSSL does the
// parsing and the path validation; nothing here trusts Qt's view of a certificate.

#include "common/result.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <memory>

namespace keyline::registry {

struct CertificateInfo {
    QByteArray der;
    QByteArray sha256; // raw 32 bytes of SHA-256(DER)
    QString commonName;
    QString organization;
    QString organizationalUnit;
    bool p256 = false; // the subject key is EC on prime256v1
};

// Every CERTIFICATE block of `pem` as DER, in order. BadInput if there is none, a block does not
// parse, or anything but whitespace stands between or around the blocks.
Result<QList<QByteArray>> certificatesFromPem(const QByteArray& pem);

// Subject fields (each at most once, or BadInput), key type and hash of one DER certificate.
Result<CertificateInfo> describeCertificate(const QByteArray& der);

// A trust store built from CA certificates: the self-signed ones are anchors, the others
// intermediates (e.g. a station's issuing CA under the device root). Verification is X.509
// strict path validation for the TLS client purpose, at the current time.
class CertificateVerifier {
public:
    static Result<CertificateVerifier> fromPemFile(const QString& path);
    ~CertificateVerifier();
    CertificateVerifier(CertificateVerifier&&) noexcept;
    CertificateVerifier& operator=(CertificateVerifier&&) noexcept;

    // VerificationFailed naming OpenSSL's reason; `chain` holds the untrusted certificates the
    // client sent after its leaf.
    Result<void> verify(const QByteArray& leafDer, const QList<QByteArray>& chain = {}) const;

    // The CA certificates of the file, for the TLS layer's own trust list.
    const QList<QByteArray>& caCertificates() const { return m_caDer; }

private:
    struct Store;
    explicit CertificateVerifier(std::unique_ptr<Store> store, QList<QByteArray> caDer);
    std::unique_ptr<Store> m_store;
    QList<QByteArray> m_caDer;
};

} // namespace keyline::registry
