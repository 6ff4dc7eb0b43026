#include "hsm/issuing_ca.h"

#include "hsm/ec_util.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

namespace keyline::hsm {

Result<std::unique_ptr<IssuingCa>> IssuingCa::create(std::shared_ptr<const Signer> signer,
                                                     const QByteArray& caCertificateDer) {
    std::unique_ptr<IssuingCa> ca(new IssuingCa);
    KL_TRY_ASSIGN(ca->m_ca, parseCertificate(caCertificateDer));
    X509* cert = ca->m_ca.get();
    if (X509_check_ca(cert) < 1 || !(X509_get_key_usage(cert) & KU_KEY_CERT_SIGN))
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("the issuing CA certificate is not a CA certificate for "
                                    "certificate signing: re-import it (docs/key-inventory.md)"));
    KL_TRY_ASSIGN(EvpPkeyPtr signerKey, publicKeyFromSpki(signer->publicKeyDer()));
    if (EVP_PKEY_eq(signerKey.get(), X509_get0_pubkey(cert)) != 1)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("the issuing CA key in the HSM does not match the issuing CA "
                                    "certificate: import the certificate issued for this key"));
    // One real signature now, so a broken key or module fails at start-up, not on a device.
    const QByteArray probe = sha256("keyline issuing CA self-test");
    KL_TRY_ASSIGN(const QByteArray sig, signer->signDigest(probe));
    OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> vctx(EVP_PKEY_CTX_new(signerKey.get(), nullptr));
    if (!vctx || EVP_PKEY_verify_init(vctx.get()) != 1 ||
        EVP_PKEY_verify(vctx.get(), reinterpret_cast<const unsigned char*>(sig.constData()),
                        std::size_t(sig.size()),
                        reinterpret_cast<const unsigned char*>(probe.constData()),
                        std::size_t(probe.size())) != 1)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("the issuing CA key's test signature does not verify"));
    KL_TRY_ASSIGN(DeviceCertificateBuilder builder, DeviceCertificateBuilder::forIssuer(cert));
    ca->m_builder = std::make_unique<DeviceCertificateBuilder>(std::move(builder));
    ca->m_signer = std::move(signer);
    ca->m_caDer = caCertificateDer;
    return ca;
}

Result<QByteArray> IssuingCa::issue(const CheckedCsr& csr,
                                    const DeviceCertificateProfile& profile) const {
    KL_TRY_ASSIGN(Leaf leaf, issueLeaf(csr, profile));
    return std::move(leaf.der);
}

Result<IssuingCa::Leaf> IssuingCa::issueLeaf(const CheckedCsr& csr,
                                             const DeviceCertificateProfile& profile) const {
    KL_TRY(checkIdentifier(QStringLiteral("customer ID"), profile.customerId));
    if (profile.environment != QLatin1String("dev") && profile.environment != QLatin1String("prod"))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("environment must be 'dev' or 'prod', not '%1'")
                         .arg(profile.environment.left(16)));
    if (profile.validityDays < 1)
        return Error(ErrorCode::InvalidArgument, QStringLiteral("validity must be at least a day"));

    if (csr.publicPoint().size() != 65)
        return Error(ErrorCode::Internal, QStringLiteral("the checked CSR has no P-256 point"));

    DeviceCertificateFields fields;
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1)
        return Error(ErrorCode::Internal, QStringLiteral("no randomness for the serial number"));
    serial[0] = (serial[0] & 0x7f) | 0x40; // positive, always 16 bytes: see setRandomSerial()
    fields.serial = QByteArray(reinterpret_cast<const char*>(serial), sizeof serial);
    // The notAfter never outlives the CA: a chain whose leaf outlives its issuer fails on
    // validators that check the whole path at the leaf's end.
    OsslPtr<ASN1_TIME, ASN1_TIME_free> notBefore(X509_time_adj_ex(nullptr, 0, -300, nullptr));
    OsslPtr<ASN1_TIME, ASN1_TIME_free> notAfter(
        X509_time_adj_ex(nullptr, profile.validityDays, 0, nullptr));
    if (!notBefore || !notAfter)
        return Error(ErrorCode::Internal, QStringLiteral("cannot compute the validity period"));
    const ASN1_TIME* caNotAfter = X509_get0_notAfter(m_ca.get());
    fields.notBefore = timeDer(notBefore.get());
    fields.notAfter =
        timeDer(ASN1_TIME_compare(notAfter.get(), caNotAfter) > 0 ? caNotAfter : notAfter.get());
    fields.customerId = profile.customerId.toUtf8();
    fields.environment = profile.environment.toUtf8();
    fields.deviceId = csr.deviceId().toUtf8();
    fields.point = csr.publicPoint();
    if (fields.notBefore.isEmpty() || fields.notAfter.isEmpty())
        return Error(ErrorCode::Internal, QStringLiteral("cannot encode the validity period"));

    const QByteArray tbs = m_builder->toBeSigned(fields);
    KL_TRY_ASSIGN(const QByteArray signature, m_signer->signDigest(sha256(tbs)));
    return Leaf{DeviceCertificateBuilder::certificate(tbs, signature), fields.serial};
}

Result<QByteArray> IssuingCa::issueFromCsr(const QByteArray& csr, const QString& expectedDeviceId,
                                           const DeviceCertificateProfile& profile) const {
    KL_TRY_ASSIGN(const CheckedCsr checked, checkDeviceCsr(csr, expectedDeviceId));
    return issue(checked, profile);
}

} // namespace keyline::hsm
