#pragma once

// A software stand-in for the HSM audit key: a P-256 key behind keyline::Signer, with a
// certificate issued by a test root CA, so exports verify with `openssl cms -CAfile root.pem`.

#include "common/ossl_ptr.h"
#include "common/signer.h"
#include "firmware/soft_signer.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace keyline::test {

class AuditSigner final : public Signer {
public:
    explicit AuditSigner(const char* rootName = "Keyline Test Audit Root")
        : m_rootKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")) {
        m_root = makeCert(rootName, m_rootKey.get(), nullptr, m_rootKey.get(), true);
        m_leaf =
            makeCert("Keyline Station Audit", m_signer.key(), m_root.get(), m_rootKey.get(), false);
    }

    Result<QByteArray> signDigest(const QByteArray& digest) const override {
        return m_signer.signDigest(digest);
    }
    QByteArray publicKeyDer() const override { return m_signer.publicKeyDer(); }

    QByteArray rootPem() const { return pem(m_root.get()); }
    QByteArray certificatePem() const { return pem(m_leaf.get()); }

private:
    using X509Ptr = OsslPtr<X509, X509_free>;

    static X509Ptr makeCert(const char* cn, EVP_PKEY* subjectKey, X509* issuer, EVP_PKEY* issuerKey,
                            bool ca) {
        X509Ptr x(X509_new());
        X509_set_version(x.get(), X509_VERSION_3);
        ASN1_INTEGER_set(X509_get_serialNumber(x.get()), ca ? 1 : 2);
        X509_NAME* name = X509_get_subject_name(x.get());
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
        X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
        X509_gmtime_adj(X509_getm_notBefore(x.get()), -300);
        X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
        X509_set_pubkey(x.get(), subjectKey);
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, issuer ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
        auto add = [&](int nid, const char* value) {
            X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
            X509_add_ext(x.get(), ext, -1);
            X509_EXTENSION_free(ext);
        };
        add(NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
        add(NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
        add(NID_subject_key_identifier, "hash");
        X509_sign(x.get(), issuerKey, EVP_sha256());
        return x;
    }

    static QByteArray pem(X509* cert) {
        OsslPtr<BIO, BIO_free> bio(BIO_new(BIO_s_mem()));
        PEM_write_bio_X509(bio.get(), cert);
        char* data = nullptr;
        const long len = BIO_get_mem_data(bio.get(), &data);
        return QByteArray(data, int(len));
    }

    OsslPtr<EVP_PKEY, EVP_PKEY_free> m_rootKey;
    SoftSigner m_signer; // the audit key itself
    X509Ptr m_root;
    X509Ptr m_leaf;
};

} // namespace keyline::test
