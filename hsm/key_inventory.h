#pragma once

// The station's key set: one table that init-dev, `hsm keys`, the ceremony and
// docs/key-inventory.md all follow.

#include <QString>
#include <vector>

namespace keyline::hsm {

namespace labels {
inline const QString deviceRootCa = QStringLiteral("keyline-device-root-ca");
inline const QString issuingCa = QStringLiteral("keyline-issuing-ca");
inline const QString keystoreSigning = QStringLiteral("keyline-keystore-signing");
inline const QString imageKey = QStringLiteral("keyline-image-key");
inline const QString auditSigning = QStringLiteral("keyline-audit-signing");
inline const QString devAppSigning = QStringLiteral("keyline-dev-app-signing");
inline const QString devUpdateAuth = QStringLiteral("keyline-dev-update-auth");
inline const QString devBackendE2e = QStringLiteral("keyline-dev-backend-e2e");
// The station's TLS client key for the back-end registry (mutual TLS); its certificate's subject
// is OU=station, CN=<station name>, not the fixed CN of the table.
inline const QString stationTls = QStringLiteral("keyline-station-tls");
// Ceremony only, not in the inventory: the RSA key the image key is imported under.
inline const QString transportKey = QStringLiteral("keyline-transport-key");
} // namespace labels

enum class KeyAlgorithm { EcP256Sign, EcP256Derive, Aes256 };

struct KeySpec {
    QString label;
    KeyAlgorithm algorithm;
    QString purpose;
    bool extractable = false;     // only the image key, which must leave wrapped
    bool certificate = false;     // has an X.509 certificate object with the same CKA_ID
    QString certificateSubject;   // CN of that certificate
    QString issuerLabel;          // who signs the certificate; == label for self-signed
    bool developmentOnly = false; // the common development customer keys
};

// The whole development set, in creation order (issuers before what they sign).
const std::vector<KeySpec>& keyInventory();
// The spec for `label`, or nullptr.
const KeySpec* findKeySpec(const QString& label);

} // namespace keyline::hsm
