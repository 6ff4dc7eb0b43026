#pragma once

#include "flashing/device_client.h"
#include "hsm/issuing_ca.h"
#include "provisioning/records.h"

namespace keyline::provisioning {

struct CertificateOutcome {
    QByteArray certificate;   // DER, the device's leaf
    bool issuedNow = false;   // false: issued in an earlier attempt and re-used
    QByteArray publicKeySpki; // the device's key, the certificate's (checked against the CSR)
};

// Step 4 of DESIGN.md §1: the device generates its own key (device-key-generate is idempotent:
// a device that has a key answers a CSR for it), the station checks the CSR and the HSM-backed
// CA issues the certificate, recorded before it is sent. At most one certificate per device:
//
//   a certificate is recorded for the device   its key must be the CSR's: it is sent again
//                                              (Refused otherwise: the device changed keys)
//   none recorded                              check the CSR (subject = device ID, P-256,
//                                              proof of possession), checkCanIssue, sign in the
//                                              HSM, recordCertificate (refuses a key seen
//                                              before), then send
//
// The device receives its leaf and the issuing CA certificate; a chain it already holds is not
// written again.
class CertificateStep {
public:
    CertificateStep(const hsm::IssuingCa& ca, hsm::DeviceCertificateProfile profile);

    Result<CertificateOutcome> ensure(flashing::DeviceClient& device, const QString& deviceId,
                                      const QByteArray& chipUid,
                                      ProvisioningRecords& records) const;

private:
    Result<QByteArray> issue(const hsm::CheckedCsr& csr, const QString& deviceId,
                             const QByteArray& chipUid, ProvisioningRecords& records) const;

    const hsm::IssuingCa& m_ca;
    hsm::DeviceCertificateProfile m_profile;
};

// The DER SubjectPublicKeyInfo of a DER certificate; empty if it does not parse.
QByteArray certificatePublicKey(const QByteArray& certificateDer);

} // namespace keyline::provisioning
