#include "sim/registry/client_identity.h"

namespace keyline::registry {

namespace {

const QString kStationUnit = QStringLiteral("station");

} // namespace

IdentityResolver::IdentityResolver(CertificateVerifier deviceCa,
                                   std::optional<CertificateVerifier> stationCa, StationAcl acl)
    : m_deviceCa(std::move(deviceCa))
    , m_stationCa(std::move(stationCa))
    , m_acl(std::move(acl)) {}

QList<QByteArray> IdentityResolver::tlsCaCertificates() const {
    QList<QByteArray> out = m_deviceCa.caCertificates();
    if (m_stationCa)
        out += m_stationCa->caCertificates();
    return out;
}

std::variant<ClientIdentity, ApiError>
IdentityResolver::resolve(const QList<QByteArray>& chain) const {
    if (chain.isEmpty())
        return ApiError{401,
                        QStringLiteral("no-client-certificate"),
                        QStringLiteral("a client certificate is required"),
                        {}};
    auto info = describeCertificate(chain.constFirst());
    if (!info)
        return forbidden(QStringLiteral("client certificate: %1").arg(info.error().message()));
    if (!info->p256)
        return forbidden(QStringLiteral("client certificate: the key must be EC P-256"));
    const QList<QByteArray> rest = chain.mid(1);
    ClientIdentity id;
    id.certificateSha256 = info->sha256;
    id.name = info->commonName;
    if (info->organizationalUnit == kStationUnit) {
        const CertificateVerifier& ca = m_stationCa ? *m_stationCa : m_deviceCa;
        if (auto verified = ca.verify(info->der, rest); !verified)
            return forbidden(QStringLiteral("station certificate does not chain to the station "
                                            "CA: %1")
                                 .arg(verified.error().message()));
        if (!isValidIdentifier(id.name))
            return forbidden(QStringLiteral("station certificate: CN is not a station name"));
        id.role = ClientIdentity::Role::Station;
        return id;
    }
    if (auto verified = m_deviceCa.verify(info->der, rest); !verified)
        return forbidden(QStringLiteral("device certificate does not chain to the device root "
                                        "CA: %1")
                             .arg(verified.error().message()));
    if (!isValidIdentifier(id.name) || !isValidIdentifier(info->organization))
        return forbidden(QStringLiteral("device certificate: subject needs CN=<device ID> and "
                                        "O=<customer ID>"));
    id.role = ClientIdentity::Role::Device;
    id.customer = info->organization;
    return id;
}

bool IdentityResolver::stationServes(const ClientIdentity& station, const QString& customer) const {
    return station.role == ClientIdentity::Role::Station && m_acl.allows(station.name, customer);
}

QStringList IdentityResolver::customersOf(const ClientIdentity& station) const {
    return m_acl.customersOf(station.name);
}

} // namespace keyline::registry
