#pragma once

// Who is calling, decided from the client certificate chain the TLS layer received. The TLS
// layer has already refused clients without a certificate that chains to one of our CAs; this
// decides the role, because a device and a station are authorised for different things:
//
//   station: subject OU=station, CN=<station name>, EC P-256, chains to the station CA
//            (--station-ca) or, without one, to the device root. Its customers: the ACL.
//   device:  subject O=<customer>, OU=dev|prod, CN=<device ID>, EC P-256, chains to the
//            device root (docs/certificate-profile.md).
//
// OU=station can never be a device: the issuing CA only writes dev or prod there.

#include "sim/registry/api_error.h"
#include "sim/registry/certificates.h"
#include "sim/registry/station_acl.h"

#include <optional>
#include <variant>

namespace keyline::registry {

struct ClientIdentity {
    enum class Role { Station, Device };
    Role role = Role::Device;
    QString name;     // station CN or device ID
    QString customer; // devices: their O; stations: empty (see the ACL)
    QByteArray certificateSha256;
};

class IdentityResolver {
public:
    IdentityResolver(CertificateVerifier deviceCa, std::optional<CertificateVerifier> stationCa,
                     StationAcl acl);

    // `chain` is the client's leaf first, then what it sent with it, all DER. 401 without a
    // certificate, 403 for one that is neither a valid station nor a valid device.
    std::variant<ClientIdentity, ApiError> resolve(const QList<QByteArray>& chain) const;

    bool stationServes(const ClientIdentity& station, const QString& customer) const;
    QStringList customersOf(const ClientIdentity& station) const;

    // Registration certificates chain to the device root exactly like device TLS clients.
    const CertificateVerifier& deviceCa() const { return m_deviceCa; }
    // The CA certificates the TLS layer accepts client chains for.
    QList<QByteArray> tlsCaCertificates() const;

private:
    CertificateVerifier m_deviceCa;
    std::optional<CertificateVerifier> m_stationCa;
    StationAcl m_acl;
};

} // namespace keyline::registry
