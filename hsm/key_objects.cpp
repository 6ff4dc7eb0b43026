#include "hsm/key_objects.h"

#include "common/ossl_ptr.h"
#include "hsm/ec_util.h"

#include <cstring>
#include <openssl/x509.h>

namespace keyline::hsm {

Result<std::vector<CK_OBJECT_HANDLE>> findObjects(SessionLease& s, const ObjectQuery& q) {
    Template t;
    t.add(CKA_CLASS, CK_ULONG(q.cls));
    if (!q.label.isEmpty())
        t.addText(CKA_LABEL, q.label);
    if (!q.id.isEmpty())
        t.add(CKA_ID, q.id);
    auto* f = s.fn();
    CK_RV rv = s.check(f->C_FindObjectsInit(s.handle(), t.data(), t.size()));
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("C_FindObjectsInit"), rv);
    std::vector<CK_OBJECT_HANDLE> out;
    for (;;) {
        CK_OBJECT_HANDLE batch[32];
        CK_ULONG n = 0;
        rv = s.check(f->C_FindObjects(s.handle(), batch, 32, &n));
        if (rv != CKR_OK) {
            f->C_FindObjectsFinal(s.handle());
            return p11Error(QStringLiteral("C_FindObjects"), rv);
        }
        out.insert(out.end(), batch, batch + n);
        if (n < 32)
            break;
    }
    f->C_FindObjectsFinal(s.handle());
    return out;
}

Result<std::optional<CK_OBJECT_HANDLE>> findOne(SessionLease& s, const ObjectQuery& q) {
    KL_TRY_ASSIGN(auto all, findObjects(s, q));
    if (all.empty())
        return std::optional<CK_OBJECT_HANDLE>();
    if (all.size() > 1)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("%1 objects are labelled '%2' on the token: key names must be "
                                    "unique; remove the duplicates (pkcs11-tool --delete-object)")
                         .arg(all.size())
                         .arg(q.label));
    return std::optional<CK_OBJECT_HANDLE>(all.front());
}

Result<QByteArray> getAttribute(SessionLease& s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type) {
    CK_ATTRIBUTE a{type, nullptr, 0};
    CK_RV rv = s.check(s.fn()->C_GetAttributeValue(s.handle(), h, &a, 1));
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("reading attribute 0x%1").arg(qulonglong(type), 0, 16), rv);
    if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return p11Error(QStringLiteral("reading attribute 0x%1").arg(qulonglong(type), 0, 16),
                        CKR_ATTRIBUTE_SENSITIVE);
    QByteArray value(qsizetype(a.ulValueLen), '\0');
    a.pValue = value.data();
    rv = s.check(s.fn()->C_GetAttributeValue(s.handle(), h, &a, 1));
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("reading attribute 0x%1").arg(qulonglong(type), 0, 16), rv);
    value.resize(qsizetype(a.ulValueLen));
    return value;
}

Result<bool> getBool(SessionLease& s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type) {
    KL_TRY_ASSIGN(const QByteArray v, getAttribute(s, h, type));
    return v.size() == 1 && v.at(0) != 0;
}

Result<CK_ULONG> getUlong(SessionLease& s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type) {
    KL_TRY_ASSIGN(const QByteArray v, getAttribute(s, h, type));
    if (v.size() != sizeof(CK_ULONG))
        return Error(ErrorCode::Internal, QStringLiteral("attribute has the wrong size"));
    CK_ULONG out;
    std::memcpy(&out, v.constData(), sizeof out);
    return out;
}

Result<KeyPair> generateP256(SessionLease& s, const EcKeySpec& spec) {
    const bool sign = spec.usage == EcUsage::Sign;
    Template pub;
    pub.add(CKA_CLASS, CK_ULONG(CKO_PUBLIC_KEY))
        .add(CKA_KEY_TYPE, CK_ULONG(CKK_EC))
        .add(CKA_TOKEN, spec.token)
        .add(CKA_PRIVATE, false)
        .add(CKA_EC_PARAMS, p256Params())
        .add(CKA_VERIFY, sign)
        .add(CKA_DERIVE, false)
        .add(CKA_ENCRYPT, false)
        .add(CKA_WRAP, false);
    Template priv;
    priv.add(CKA_CLASS, CK_ULONG(CKO_PRIVATE_KEY))
        .add(CKA_KEY_TYPE, CK_ULONG(CKK_EC))
        .add(CKA_TOKEN, spec.token)
        .add(CKA_PRIVATE, true)
        .add(CKA_SENSITIVE, true)
        .add(CKA_EXTRACTABLE, spec.extractable)
        .add(CKA_SIGN, sign)
        .add(CKA_DERIVE, !sign)
        .add(CKA_DECRYPT, false)
        .add(CKA_UNWRAP, false);
    if (!spec.label.isEmpty()) {
        pub.addText(CKA_LABEL, spec.label);
        priv.addText(CKA_LABEL, spec.label);
    }
    if (!spec.id.isEmpty()) {
        pub.add(CKA_ID, spec.id);
        priv.add(CKA_ID, spec.id);
    }
    CK_MECHANISM mech{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
    KeyPair kp;
    const CK_RV rv =
        s.check(s.fn()->C_GenerateKeyPair(s.handle(), &mech, pub.data(), pub.size(), priv.data(),
                                          priv.size(), &kp.publicKey, &kp.privateKey));
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("generating P-256 key '%1'").arg(spec.label), rv);
    return kp;
}

Template aes256KeyTemplate(const QString& label, const QByteArray& id, bool extractable) {
    Template t;
    t.add(CKA_CLASS, CK_ULONG(CKO_SECRET_KEY))
        .add(CKA_KEY_TYPE, CK_ULONG(CKK_AES))
        .add(CKA_TOKEN, true)
        .add(CKA_PRIVATE, true)
        .add(CKA_SENSITIVE, true)
        .add(CKA_EXTRACTABLE, extractable)
        .add(CKA_ENCRYPT, true) // AES-GCM of OS images (hsm.h, beginGcmEncrypt)
        .add(CKA_DECRYPT, true)
        .add(CKA_SIGN, false)
        .add(CKA_VERIFY, false)
        .add(CKA_WRAP, false)
        .add(CKA_UNWRAP, false)
        .add(CKA_DERIVE, false)
        .addText(CKA_LABEL, label)
        .add(CKA_ID, id);
    return t;
}

Result<CK_OBJECT_HANDLE> generateAes256(SessionLease& s, const QString& label, const QByteArray& id,
                                        bool extractable) {
    Template t = aes256KeyTemplate(label, id, extractable);
    t.add(CKA_VALUE_LEN, CK_ULONG(32));
    CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    const CK_RV rv = s.check(s.fn()->C_GenerateKey(s.handle(), &mech, t.data(), t.size(), &h));
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("generating AES-256 key '%1'").arg(label), rv);
    return h;
}

Result<CK_OBJECT_HANDLE> storeCertificate(SessionLease& s, const QString& label,
                                          const QByteArray& id, const QByteArray& der) {
    Template t;
    t.add(CKA_CLASS, CK_ULONG(CKO_CERTIFICATE))
        .add(CKA_CERTIFICATE_TYPE, CK_ULONG(CKC_X_509))
        .add(CKA_TOKEN, true)
        .add(CKA_PRIVATE, false)
        .addText(CKA_LABEL, label)
        .add(CKA_ID, id)
        .add(CKA_VALUE, der);
    // CKA_SUBJECT lets tools (pkcs11-tool, p11tool) and pkcs11-helper show and match it.
    const auto* p = reinterpret_cast<const unsigned char*>(der.constData());
    OsslPtr<X509, X509_free> x(d2i_X509(nullptr, &p, long(der.size())));
    if (!x)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("certificate for '%1' is not DER X.509").arg(label));
    unsigned char* subj = nullptr;
    const int subjLen = i2d_X509_NAME(X509_get_subject_name(x.get()), &subj);
    if (subjLen > 0) {
        t.add(CKA_SUBJECT, QByteArray(reinterpret_cast<const char*>(subj), subjLen));
        OPENSSL_free(subj);
    }
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    const CK_RV rv = s.check(s.fn()->C_CreateObject(s.handle(), t.data(), t.size(), &h));
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("storing certificate '%1'").arg(label), rv);
    return h;
}

Result<QByteArray> ecPublicPoint(SessionLease& s, CK_OBJECT_HANDLE publicKey) {
    KL_TRY_ASSIGN(const QByteArray raw, getAttribute(s, publicKey, CKA_EC_POINT));
    return p256PointFromEcPoint(raw);
}

// The key's length in bytes. SoftHSM2 2.6 leaves CKA_VALUE_LEN of an unwrapped key at 0; the
// length is then measured with a size query of C_WrapKey (RFC 5649: 8 bytes more than the key)
// under a throw-away session KEK that never leaves the HSM, so no key bytes are produced.
Template wrapOnlySessionKeyTemplate() {
    Template t;
    t.add(CKA_CLASS, CK_ULONG(CKO_SECRET_KEY))
        .add(CKA_KEY_TYPE, CK_ULONG(CKK_AES))
        .add(CKA_VALUE_LEN, CK_ULONG(32))
        .add(CKA_TOKEN, false)
        .add(CKA_PRIVATE, true)
        .add(CKA_SENSITIVE, true)
        .add(CKA_EXTRACTABLE, false)
        .add(CKA_WRAP, true)
        .add(CKA_UNWRAP, false)
        .add(CKA_ENCRYPT, false)
        .add(CKA_DECRYPT, false)
        .add(CKA_SIGN, false)
        .add(CKA_VERIFY, false)
        .add(CKA_DERIVE, false);
    return t;
}

Result<CK_ULONG> secretKeyLength(SessionLease& s, CK_OBJECT_HANDLE key) {
    if (auto len = getUlong(s, key, CKA_VALUE_LEN); len.ok() && *len > 0)
        return *len;
    Template t = wrapOnlySessionKeyTemplate();
    CK_MECHANISM gen{CKM_AES_KEY_GEN, nullptr, 0};
    CK_OBJECT_HANDLE kekHandle = CK_INVALID_HANDLE;
    CK_RV rv = s.check(s.fn()->C_GenerateKey(s.handle(), &gen, t.data(), t.size(), &kekHandle));
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("measuring the length of a secret key"), rv);
    ObjectGuard kek(s, kekHandle);
    CK_MECHANISM wrap{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
    CK_ULONG len = 0;
    rv = s.check(s.fn()->C_WrapKey(s.handle(), &wrap, kek.get(), key, nullptr, &len));
    if (rv != CKR_OK || len < 16)
        return p11Error(QStringLiteral("measuring the length of a secret key"), rv);
    return CK_ULONG(len - 8);
}

Result<QByteArray> keyCheckValue(SessionLease& s, CK_OBJECT_HANDLE key) {
    auto stored = getAttribute(s, key, CKA_CHECK_VALUE);
    if (stored.ok() && stored->size() >= 3)
        return stored->left(3);
    CK_MECHANISM ecb{CKM_AES_ECB, nullptr, 0};
    CK_RV rv = s.check(s.fn()->C_EncryptInit(s.handle(), &ecb, key));
    unsigned char zero[16] = {};
    unsigned char out[16];
    CK_ULONG len = sizeof out;
    if (rv == CKR_OK)
        rv = s.check(s.fn()->C_Encrypt(s.handle(), zero, sizeof zero, out, &len));
    if (rv != CKR_OK || len < 3)
        return p11Error(QStringLiteral("computing a key check value"), rv);
    return QByteArray(reinterpret_cast<const char*>(out), 3);
}

ObjectGuard::~ObjectGuard() {
    if (m_h != CK_INVALID_HANDLE)
        m_s.fn()->C_DestroyObject(m_s.handle(), m_h);
}

} // namespace keyline::hsm
