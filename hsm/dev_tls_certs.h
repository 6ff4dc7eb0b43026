#pragma once

// TLS certificates of the development set (`keyline hsm init-dev`): the station's client
// certificate for the back-end registry (key in the HSM) and a development server certificate
// for `keyline-registry` on loopback (key in a file: the registry is a separate back-end, not
// part of the station). Both are issued by the device root CA in the HSM, as the audit
// certificate is; docs/key-inventory.md.

#include "common/signer.h"

#include <QString>
#include <openssl/x509.h>

namespace keyline::hsm {

class Pkcs11Hsm;

// The registry's station profile (docs/backend-api.md): subject O=Keyline, OU=station,
// CN=<stationName>; CA:FALSE, digitalSignature, extendedKeyUsage clientAuth; SKI, AKI.
Result<QByteArray> makeStationTlsCertificate(const QString& stationName,
                                             const QByteArray& subjectSpki, X509* issuer,
                                             const Signer& signer, int validityDays);

// File names in <data_dir>/export.
inline const QString kRegistryDevCertFile = QStringLiteral("registry-dev.pem");
inline const QString kRegistryDevKeyFile = QStringLiteral("registry-dev.key");

// <exportDir>/registry-dev.pem (CN=keyline-registry-dev, SAN 127.0.0.1, ::1, localhost,
// serverAuth, issued by the device root) and registry-dev.key (its P-256 key, PEM, mode 600),
// unless both exist and belong together. True when they were (re)written.
Result<bool> ensureRegistryDevCertificate(Pkcs11Hsm& hsm, const QString& exportDir,
                                          int validityDays);

} // namespace keyline::hsm
