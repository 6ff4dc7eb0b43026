#include "hsm/ceremony.h"

#include "hsm/key_inventory.h"
#include "hsm/key_objects.h"
#include "hsm/x509_sign.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace keyline::hsm {

namespace {

Error refusedCert(const CeremonyKey& key, const QString& why) {
    return Error(
        ErrorCode::BadInput,
        QStringLiteral("certificate refused for %1 (%2): %3").arg(key.name, key.label, why));
}

// DER as given, or the first PEM CERTIFICATE block.
Result<X509Ptr> readCertificate(const QByteArray& data) {
    if (data.contains("-----BEGIN")) {
        OsslPtr<BIO, BIO_free> bio(BIO_new_mem_buf(data.constData(), int(data.size())));
        X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!x)
            return Error(ErrorCode::BadInput,
                         QStringLiteral("the file holds no PEM CERTIFICATE block"));
        return x;
    }
    return parseCertificate(data);
}

struct TokenKey {
    std::optional<CK_OBJECT_HANDLE> privateKey;
    std::optional<CK_OBJECT_HANDLE> publicKey;
    std::optional<CK_OBJECT_HANDLE> certificate;
    QByteArray id;
};

Result<TokenKey> lookUp(Pkcs11Hsm& hsm, const QString& label) {
    KL_TRY_ASSIGN(SessionLease s, hsm.pool().acquire());
    TokenKey k;
    KL_TRY_ASSIGN(k.privateKey, findOne(s, {CKO_PRIVATE_KEY, label, {}}));
    KL_TRY_ASSIGN(k.publicKey, findOne(s, {CKO_PUBLIC_KEY, label, {}}));
    KL_TRY_ASSIGN(k.certificate, findOne(s, {CKO_CERTIFICATE, label, {}}));
    if (k.privateKey)
        k.id = getAttribute(s, *k.privateKey, CKA_ID).valueOr({});
    if (k.id.isEmpty())
        k.id = label.toUtf8();
    return k;
}

// The profile each kind of certificate must have: the CAs sign certificates, the audit key
// signs exports and nothing else.
Result<void> checkProfile(const CeremonyKey& key, X509* x) {
    const bool isCa = X509_check_ca(x) >= 1;
    const uint32_t usage = X509_get_key_usage(x);
    if (key.label == labels::auditSigning) {
        if (isCa || !(usage & KU_DIGITAL_SIGNATURE))
            return refusedCert(key, QStringLiteral("the audit certificate must be CA:FALSE with "
                                                   "keyUsage digitalSignature"));
        return success();
    }
    if (!isCa || !(usage & KU_KEY_CERT_SIGN))
        return refusedCert(key, QStringLiteral("a CA certificate (basicConstraints CA:TRUE, "
                                               "keyUsage keyCertSign) is required"));
    return success();
}

} // namespace

const std::vector<CeremonyKey>& ceremonyKeys() {
    static const std::vector<CeremonyKey> keys{
        {QStringLiteral("issuing-ca"), labels::issuingCa, true, true},
        {QStringLiteral("audit"), labels::auditSigning, true, true},
        {QStringLiteral("keystore-signing"), labels::keystoreSigning, true, false},
        {QStringLiteral("device-root-ca"), labels::deviceRootCa, false, true},
    };
    return keys;
}

Result<CeremonyKey> findCeremonyKey(const QString& name) {
    QStringList names;
    for (const auto& k : ceremonyKeys()) {
        if (k.name == name)
            return k;
        names << k.name;
    }
    return Error(ErrorCode::InvalidArgument,
                 QStringLiteral("unknown ceremony key '%1'; use one of %2")
                     .arg(name.left(32), names.join(QStringLiteral(", "))));
}

Result<CeremonyCsr> generateKeyAndCsr(Pkcs11Hsm& hsm, const CeremonyKey& key,
                                      const QString& subject, bool useExisting) {
    if (!key.generated)
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("%1 is never generated on a station: the offline root makes "
                                    "it; import its certificate with `hsm ceremony import-cert`")
                         .arg(key.name));
    // Subject errors before anything is created on the token.
    KL_TRY(parseSubject(subject));
    KL_TRY_ASSIGN(const TokenKey existing, lookUp(hsm, key.label));
    CeremonyCsr out;
    if (existing.privateKey || existing.publicKey) {
        if (!useExisting)
            return Error(ErrorCode::Refused,
                         QStringLiteral("key '%1' is already on token '%2': a ceremony never "
                                        "replaces a key; pass --existing to write a new CSR for "
                                        "the key that is there")
                             .arg(key.label, hsm.tokenLabel()));
        if (!existing.privateKey || !existing.publicKey)
            return Error(ErrorCode::EnvironmentNotReady,
                         QStringLiteral("token '%1' holds only half of key pair '%2': remove it "
                                        "(pkcs11-tool --delete-object) and generate again")
                             .arg(hsm.tokenLabel(), key.label));
    } else {
        if (useExisting)
            return Error(ErrorCode::EnvironmentNotReady,
                         QStringLiteral("--existing: key '%1' is not on token '%2'; leave out "
                                        "--existing to generate it")
                             .arg(key.label, hsm.tokenLabel()));
        KL_TRY_ASSIGN(SessionLease s, hsm.pool().acquire());
        KL_TRY(generateP256(s, {key.label, key.label.toUtf8(), EcUsage::Sign, true, false}));
        out.keyCreated = true;
    }
    KL_TRY_ASSIGN(auto signer, hsm.signer(hsm.uriFor(key.label)));
    out.publicKeySpki = signer->publicKeyDer();
    KL_TRY_ASSIGN(out.csrDer, makeSignedCsr(*signer, subject));
    return out;
}

Result<ImportOutcome> importCertificate(Pkcs11Hsm& hsm, const CeremonyKey& key,
                                        const QByteArray& certificate) {
    if (!key.certificate)
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("%1 has no certificate: devices hold its public key; hand "
                                    "the boot ROM team the public key written by `hsm ceremony "
                                    "generate --public-key-out`")
                         .arg(key.name));
    KL_TRY_ASSIGN(X509Ptr cert, readCertificate(certificate).context(key.name));
    X509* x = cert.get();
    if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0 ||
        X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
        return refusedCert(key, QStringLiteral("it is not valid now (check its validity dates "
                                               "and this station's clock)"));
    KL_TRY(checkProfile(key, x));
    KL_TRY_ASSIGN(const TokenKey onToken, lookUp(hsm, key.label));

    EVP_PKEY* certKey = X509_get0_pubkey(x);
    if (!certKey)
        return refusedCert(key, QStringLiteral("its public key cannot be read"));
    if (key.generated) {
        if (!onToken.privateKey)
            return Error(ErrorCode::EnvironmentNotReady,
                         QStringLiteral("private key '%1' is not on token '%2': run `keyline hsm "
                                        "ceremony generate --key %3` first")
                             .arg(key.label, hsm.tokenLabel(), key.name));
        KL_TRY_ASSIGN(const QByteArray spki, hsm.publicKey(hsm.uriFor(key.label)));
        KL_TRY_ASSIGN(EvpPkeyPtr hsmKey, publicKeyFromSpki(spki));
        if (EVP_PKEY_eq(hsmKey.get(), certKey) != 1)
            return refusedCert(key, QStringLiteral("its public key is not the key '%1' in the "
                                                   "HSM: it was issued for another request")
                                        .arg(key.label));
    } else if (X509_check_issued(x, x) != X509_V_OK || X509_verify(x, certKey) != 1) {
        return refusedCert(key, QStringLiteral("the root certificate must be self-signed"));
    }

    // Chain to the root when the root is already imported, so a certificate from the wrong CA
    // is caught in the ceremony, not on the first device.
    if (key.generated) {
        auto rootDer = hsm.certificate(hsm.uriFor(labels::deviceRootCa, QStringLiteral("cert")));
        if (rootDer.ok()) {
            KL_TRY_ASSIGN(X509Ptr root, parseCertificate(*rootDer));
            if (X509_check_issued(root.get(), x) != X509_V_OK ||
                X509_verify(x, X509_get0_pubkey(root.get())) != 1)
                return refusedCert(key, QStringLiteral("it is not issued by the device root CA "
                                                       "certificate on the token"));
        }
    }

    const QByteArray der = certificateDer(x);
    if (onToken.certificate) {
        KL_TRY_ASSIGN(SessionLease s, hsm.pool().acquire());
        KL_TRY_ASSIGN(const QByteArray present, getAttribute(s, *onToken.certificate, CKA_VALUE));
        if (present == der)
            return ImportOutcome::AlreadyPresent;
        return Error(ErrorCode::Refused,
                     QStringLiteral("token '%1' already holds a different certificate for '%2': "
                                    "certificate rotation is a ceremony of its own "
                                    "(docs/key-inventory.md); nothing was changed")
                         .arg(hsm.tokenLabel(), key.label));
    }
    KL_TRY_ASSIGN(SessionLease s, hsm.pool().acquire());
    KL_TRY(storeCertificate(s, key.label, onToken.id, der));
    return ImportOutcome::Imported;
}

} // namespace keyline::hsm
