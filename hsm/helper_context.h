#pragma once

#include "common/signer.h"
#include "hsm/pin_source.h"

#include <QString>
#include <memory>

struct pkcs11h_certificate_s; // pkcs11-helper's certificate object (pkcs11h_certificate_t)

namespace keyline::hsm {

// pkcs11-helper: provider loading, token discovery by label, PIN prompting and
// certificate-bound signing (a key found through the certificate with the same CKA_ID).
//
// pkcs11-helper is process-wide state; this object holds one reference to it (initialised with
// the first, terminated with the last) and one provider. Its PIN hook answers once per request
// and refuses retries, so a wrong PIN can never spend the token's attempts in a loop.
class HelperContext {
public:
    static Result<std::shared_ptr<HelperContext>> open(const QString& modulePath, PinSource pins);
    ~HelperContext();
    HelperContext(const HelperContext&) = delete;
    HelperContext& operator=(const HelperContext&) = delete;

    // Labels of the tokens the provider shows now (re-enumerated on every call).
    Result<QStringList> tokenLabels() const;

    // A signer for the private key whose certificate on token `tokenLabel` has CKA_ID `id`.
    // Signing goes through pkcs11h_certificate_signAny; pkcs11-helper serialises it per token.
    Result<std::shared_ptr<Signer>> certificateSigner(const QString& tokenLabel,
                                                      const QByteArray& id);

    // pkcs11-helper's object for the certificate with CKA_ID `id` on `tokenLabel` (and so for
    // the key bound to it), with the certificate's DER as the helper read it. The caller owns
    // `handle`: pkcs11h_certificate_freeCertificate, or hand it to what frees it.
    struct HelperCertificate {
        pkcs11h_certificate_s* handle = nullptr;
        QByteArray der;
    };
    Result<HelperCertificate> openCertificate(const QString& tokenLabel, const QByteArray& id);

    const PinSource& pins() const { return m_pins; }

private:
    HelperContext() = default;
    QByteArray m_reference;
    PinSource m_pins;
};

} // namespace keyline::hsm
