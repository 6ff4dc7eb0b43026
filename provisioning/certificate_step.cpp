#include "provisioning/certificate_step.h"

#include "common/ossl_ptr.h"
#include "hsm/x509_sign.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <openssl/x509.h>

namespace keyline::provisioning {

namespace {

// The body of the back-end registration (docs/backend-api.md): the device as `created`.
QByteArray registrationFor(const QString& deviceId, const QByteArray& chipUid,
                           const hsm::DeviceCertificateProfile& profile, const QByteArray& der) {
    const QJsonObject body{
        {QStringLiteral("deviceId"), deviceId},
        {QStringLiteral("customerId"), profile.customerId},
        {QStringLiteral("environment"), profile.environment},
        {QStringLiteral("chipUid"), QString::fromLatin1(chipUid.toHex())},
        {QStringLiteral("state"), QStringLiteral("created")},
        {QStringLiteral("certificate"), QString::fromLatin1(hsm::toPem(der, "CERTIFICATE"))},
    };
    return QJsonDocument(body).toJson(QJsonDocument::Compact);
}

} // namespace

QByteArray certificatePublicKey(const QByteArray& certificateDer) {
    auto cert = hsm::parseCertificate(certificateDer);
    if (!cert)
        return {};
    unsigned char* der = nullptr;
    const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert->get()), &der);
    if (len <= 0)
        return {};
    QByteArray out(reinterpret_cast<const char*>(der), len);
    OPENSSL_free(der);
    return out;
}

CertificateStep::CertificateStep(const hsm::IssuingCa& ca, hsm::DeviceCertificateProfile profile)
    : m_ca(ca)
    , m_profile(std::move(profile)) {}

Result<CertificateOutcome> CertificateStep::ensure(flashing::DeviceClient& device,
                                                   const QString& deviceId,
                                                   const QByteArray& chipUid,
                                                   ProvisioningRecords& records) const {
    KL_TRY_ASSIGN(const protocol::DeviceKeyResponse key, device.generateDeviceKey(deviceId));
    KL_TRY_ASSIGN(const hsm::CheckedCsr csr, hsm::checkDeviceCsr(key.csr, deviceId));
    KL_TRY_ASSIGN(const std::optional<QByteArray> recorded, records.issuedCertificate(deviceId));
    CertificateOutcome outcome;
    outcome.publicKeySpki = csr.publicKeySpki();
    if (recorded) {
        // Issued in an earlier attempt: the device must still hold that key, and gets the
        // same certificate again. Never a second one.
        if (certificatePublicKey(*recorded) != csr.publicKeySpki())
            return Error(ErrorCode::Refused,
                         QStringLiteral("the device's key is not the one its certificate was "
                                        "issued for: scrap the device (one certificate per "
                                        "device)"));
        outcome.certificate = *recorded;
    } else {
        KL_TRY_ASSIGN(outcome.certificate, issue(csr, deviceId, chipUid, records));
        outcome.issuedNow = true;
    }
    KL_TRY_ASSIGN(const QList<QByteArray> held, device.readCertificateChain());
    const QList<QByteArray> chain{outcome.certificate, m_ca.caCertificateDer()};
    if (held != chain)
        KL_TRY(device.writeCertificateChain(chain));
    return outcome;
}

Result<QByteArray> CertificateStep::issue(const hsm::CheckedCsr& csr, const QString& deviceId,
                                          const QByteArray& chipUid,
                                          ProvisioningRecords& records) const {
    KL_TRY(records.checkCanIssue(deviceId));
    KL_TRY_ASSIGN(const hsm::IssuingCa::Leaf leaf, m_ca.issueLeaf(csr, m_profile));
    const QByteArray& der = leaf.der;
    CertificateRecord record;
    record.deviceId = deviceId;
    record.serialHex = QString::fromLatin1(leaf.serial.toHex());
    record.der = der;
    record.publicKeySpki = csr.publicKeySpki();
    record.registration = registrationFor(deviceId, chipUid, m_profile, der);
    // Durable before the certificate leaves the station (DESIGN.md §4).
    KL_TRY(records.recordCertificate(record));
    return der;
}

} // namespace keyline::provisioning
