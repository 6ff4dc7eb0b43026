#include "hsm/key_inventory.h"

namespace keyline::hsm {

const std::vector<KeySpec>& keyInventory() {
    static const std::vector<KeySpec> specs = {
        {labels::deviceRootCa, KeyAlgorithm::EcP256Sign,
         QStringLiteral("device root CA: signs issuing CA certificates (offline in production)"),
         false, true, QStringLiteral("Keyline Device Root CA"), labels::deviceRootCa, false},
        {labels::issuingCa, KeyAlgorithm::EcP256Sign,
         QStringLiteral("station issuing CA: signs device TLS client certificates"), false, true,
         QStringLiteral("Keyline Station Issuing CA"), labels::deviceRootCa, false},
        {labels::keystoreSigning,
         KeyAlgorithm::EcP256Sign,
         QStringLiteral("vendor keystore signing: signs customer keystores"),
         false,
         false,
         {},
         {},
         false},
        {labels::imageKey,
         KeyAlgorithm::Aes256,
         QStringLiteral("image decryption key: burned into device OTP, leaves only wrapped"),
         true,
         false,
         {},
         {},
         false},
        {labels::auditSigning, KeyAlgorithm::EcP256Sign,
         QStringLiteral("station audit signing: signs audit log exports"), false, true,
         QStringLiteral("Keyline Station Audit"), labels::deviceRootCa, false},
        {labels::stationTls, KeyAlgorithm::EcP256Sign,
         QStringLiteral("station TLS client key: mutual TLS to the back-end registry"), false, true,
         QStringLiteral("station"), labels::deviceRootCa, false},
        {labels::devAppSigning,
         KeyAlgorithm::EcP256Sign,
         QStringLiteral("development customer application signing key"),
         false,
         false,
         {},
         {},
         true},
        {labels::devUpdateAuth,
         KeyAlgorithm::EcP256Sign,
         QStringLiteral("development customer update authorisation key"),
         false,
         false,
         {},
         {},
         true},
        {labels::devBackendE2e,
         KeyAlgorithm::EcP256Derive,
         QStringLiteral("development customer end-to-end back-end key (ECDH)"),
         false,
         false,
         {},
         {},
         true},
    };
    return specs;
}

const KeySpec* findKeySpec(const QString& label) {
    for (const auto& s : keyInventory())
        if (s.label == label)
            return &s;
    return nullptr;
}

} // namespace keyline::hsm
