#include "hsm/issuing_ca.h"

#include "hsm/ec_util.h"

#include <openssl/evp.h>
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
    ca->m_signer = std::move(signer);
    ca->m_caDer = caCertificateDer;
    return ca;
}

Result<QByteArray> IssuingCa::issue(const CheckedCsr& csr,
                                    const DeviceCertificateProfile& profile) const {
    KL_TRY(checkIdentifier(QStringLiteral("customer ID"), profile.customerId));
    if (profile.environment != QLatin1String("dev") && profile.environment != QLatin1String("prod"))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("environment must be 'dev' or 'prod', not '%1'")
                         .arg(profile.environment.left(16)));
    if (profile.validityDays < 1)
        return Error(ErrorCode::InvalidArgument, QStringLiteral("validity must be at least a day"));

    X509Ptr x(X509_new());
    if (!x || csr.publicPoint().size() != 65)
        return Error(ErrorCode::Internal, QStringLiteral("cannot make the device certificate"));
    // The point goes in as raw bytes with its algorithm: X509_set_pubkey(EVP_PKEY) would run
    // OpenSSL 3.0's encoder framework, which costs more than the HSM signature itself.
    auto* point = static_cast<unsigned char*>(
        OPENSSL_memdup(csr.publicPoint().constData(), std::size_t(csr.publicPoint().size())));
    if (!point || !X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x.get()),
                                          OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
                                          OBJ_nid2obj(NID_X9_62_prime256v1), point, 65)) {
        OPENSSL_free(point);
        return Error(ErrorCode::Internal, QStringLiteral("cannot set the device public key"));
    }
    X509_NAME* name = X509_get_subject_name(x.get());
    const QByteArray cn = csr.deviceId().toUtf8();
    const QByteArray o = profile.customerId.toUtf8();
    const QByteArray ou = profile.environment.toUtf8();
    auto add = [&](const char* field, const QByteArray& v) {
        return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                          reinterpret_cast<const unsigned char*>(v.constData()),
                                          int(v.size()), -1, 0) == 1;
    };
    // The notAfter never outlives the CA: a chain whose leaf outlives its issuer fails on
    // validators that check the whole path at the leaf's end.
    OsslPtr<ASN1_TIME, ASN1_TIME_free> notAfter(
        X509_time_adj_ex(nullptr, profile.validityDays, 0, nullptr));
    if (!notAfter)
        return Error(ErrorCode::Internal, QStringLiteral("cannot compute notAfter"));
    const ASN1_TIME* caNotAfter = X509_get0_notAfter(m_ca.get());
    const ASN1_TIME* chosen =
        ASN1_TIME_compare(notAfter.get(), caNotAfter) > 0 ? caNotAfter : notAfter.get();
    if (!add("O", o) || !add("OU", ou) || !add("CN", cn) ||
        !X509_set_version(x.get(), X509_VERSION_3) ||
        !X509_set_issuer_name(x.get(), X509_get_subject_name(m_ca.get())) ||
        !X509_gmtime_adj(X509_getm_notBefore(x.get()), -300) ||
        !X509_set1_notAfter(x.get(), chosen))
        return Error(ErrorCode::Internal, QStringLiteral("cannot fill the device certificate"));
    KL_TRY(setRandomSerial(x.get()));
    KL_TRY(addExtension(x.get(), m_ca.get(), NID_basic_constraints, "critical,CA:FALSE"));
    KL_TRY(addExtension(x.get(), m_ca.get(), NID_key_usage, "critical,digitalSignature"));
    KL_TRY(addExtension(x.get(), m_ca.get(), NID_ext_key_usage, "clientAuth"));
    KL_TRY(addExtension(x.get(), m_ca.get(), NID_subject_key_identifier, "hash"));
    KL_TRY(addExtension(x.get(), m_ca.get(), NID_authority_key_identifier, "keyid:always"));
    return signCertificate(x.get(), *m_signer);
}

Result<QByteArray> IssuingCa::issueFromCsr(const QByteArray& csr, const QString& expectedDeviceId,
                                           const DeviceCertificateProfile& profile) const {
    KL_TRY_ASSIGN(const CheckedCsr checked, checkDeviceCsr(csr, expectedDeviceId));
    return issue(checked, profile);
}

} // namespace keyline::hsm
