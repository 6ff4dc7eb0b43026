#include "hsm/ceremony_image_key.h"

#include "hsm/key_inventory.h"
#include "hsm/key_objects.h"
#include "hsm/x509_sign.h"

#include <QScopeGuard>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/x509.h>

namespace keyline::hsm {

namespace {

Result<bool> imageKeyPresent(SessionLease& s) {
    KL_TRY_ASSIGN(const auto found, findOne(s, {CKO_SECRET_KEY, labels::imageKey, {}}));
    return found.has_value();
}

Error imageKeyThere(const Pkcs11Hsm& hsm) {
    return Error(ErrorCode::Refused,
                 QStringLiteral("image key '%1' is already on token '%2': a ceremony never "
                                "replaces it (a new image key needs new firmware images, "
                                "docs/key-inventory.md); nothing was changed")
                     .arg(labels::imageKey, hsm.tokenLabel()));
}

// DER SubjectPublicKeyInfo from the public key object's modulus and exponent.
Result<QByteArray> rsaSpki(SessionLease& s, CK_OBJECT_HANDLE pub) {
    KL_TRY_ASSIGN(const QByteArray n, getAttribute(s, pub, CKA_MODULUS));
    KL_TRY_ASSIGN(const QByteArray e, getAttribute(s, pub, CKA_PUBLIC_EXPONENT));
    auto num = [](const QByteArray& b) {
        return BN_bin2bn(reinterpret_cast<const unsigned char*>(b.constData()), int(b.size()),
                         nullptr);
    };
    OsslPtr<BIGNUM, BN_free> bn(num(n)), be(num(e));
    OsslPtr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free> bld(OSSL_PARAM_BLD_new());
    if (!bn || !be || !bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn.get()) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, be.get()))
        return Error(ErrorCode::Internal, QStringLiteral("cannot build the RSA public key"));
    OsslPtr<OSSL_PARAM, OSSL_PARAM_free> params(OSSL_PARAM_BLD_to_param(bld.get()));
    OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> ctx(
        EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
    EVP_PKEY* raw = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
        return Error(ErrorCode::Internal, QStringLiteral("cannot build the RSA public key"));
    EvpPkeyPtr key(raw);
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(key.get(), &der);
    if (len <= 0)
        return Error(ErrorCode::Internal, QStringLiteral("cannot encode the RSA public key"));
    QByteArray out(reinterpret_cast<const char*>(der), len);
    OPENSSL_free(der);
    return out;
}

// No CKA_VALUE_LEN: its length comes from the data (SoftHSM2 2.6 refuses it with
// CKR_ATTRIBUTE_READ_ONLY), and is checked after the unwrap (secretKeyLength()).
// Extractable only because the otp-burn wraps it for each device.
Template imageKeyTemplate() {
    return aes256KeyTemplate(labels::imageKey, labels::imageKey.toUtf8(), true);
}

Error unwrapError(CK_RV rv, OaepHash hash) {
    if (hash == OaepHash::Sha256 && (rv == CKR_ARGUMENTS_BAD || rv == CKR_MECHANISM_PARAM_INVALID))
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("this HSM does not do RSA-OAEP with SHA-256 (%1; SoftHSM2 2.6 "
                                    "knows only SHA-1): have the key-management HSM wrap with "
                                    "OAEP SHA-1/MGF1-SHA-1 and pass --oaep sha1; nothing was "
                                    "created")
                         .arg(ckrName(rv)));
    switch (rv) {
    case CKR_GENERAL_ERROR:
    case CKR_WRAPPED_KEY_INVALID:
    case CKR_WRAPPED_KEY_LEN_RANGE:
    case CKR_ENCRYPTED_DATA_INVALID:
    case CKR_ENCRYPTED_DATA_LEN_RANGE:
    case CKR_DATA_INVALID:
    case CKR_DATA_LEN_RANGE:
    case CKR_KEY_SIZE_RANGE:
    case CKR_TEMPLATE_INCONSISTENT:
    case CKR_ATTRIBUTE_VALUE_INVALID:
        return Error(ErrorCode::BadInput,
                     QStringLiteral("the wrapped image key does not unwrap under transport key "
                                    "'%1' (%2): it was wrapped for another transport key or with "
                                    "other OAEP parameters, or the file is damaged; nothing was "
                                    "created")
                         .arg(labels::transportKey, ckrName(rv)));
    default:
        return p11Error(QStringLiteral("unwrapping the image key"), rv);
    }
}

} // namespace

Result<OaepHash> parseOaepHash(const QString& text) {
    if (text.isEmpty() || text == QLatin1String("sha256"))
        return OaepHash::Sha256;
    if (text == QLatin1String("sha1"))
        return OaepHash::Sha1;
    return Error(ErrorCode::InvalidArgument,
                 QStringLiteral("--oaep must be sha256 or sha1, not '%1'").arg(text.left(16)));
}

Result<QByteArray> parseKcv(const QString& text) {
    QString hex = text;
    hex.remove(QLatin1Char(':')).remove(QLatin1Char(' '));
    const QByteArray bytes = QByteArray::fromHex(hex.toLatin1());
    static const QString digits = QStringLiteral("0123456789abcdefABCDEF");
    bool allHex = hex.size() == 6;
    for (QChar c : hex)
        allHex = allHex && digits.contains(c);
    if (!allHex || bytes.size() != 3)
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("--expect-kcv must be 3 bytes in hex (6 digits, e.g. 1a2b3c), "
                                    "not '%1'")
                         .arg(text.left(32)));
    return bytes;
}

Result<TransportKey> makeTransportKey(Pkcs11Hsm& hsm) {
    KL_TRY_ASSIGN(SessionLease s, hsm.pool().acquire());
    KL_TRY_ASSIGN(const bool imagePresent, imageKeyPresent(s));
    if (imagePresent)
        return imageKeyThere(hsm);
    KL_TRY_ASSIGN(auto priv, findOne(s, {CKO_PRIVATE_KEY, labels::transportKey, {}}));
    KL_TRY_ASSIGN(auto pub, findOne(s, {CKO_PUBLIC_KEY, labels::transportKey, {}}));
    TransportKey out;
    if (priv.has_value() != pub.has_value())
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("token '%1' holds only half of key pair '%2': remove it "
                                    "(pkcs11-tool --delete-object) and run transport-key again")
                         .arg(hsm.tokenLabel(), labels::transportKey));
    if (!pub) {
        const QByteArray id = labels::transportKey.toUtf8();
        Template pt;
        pt.add(CKA_CLASS, CK_ULONG(CKO_PUBLIC_KEY))
            .add(CKA_KEY_TYPE, CK_ULONG(CKK_RSA))
            .add(CKA_TOKEN, true)
            .add(CKA_PRIVATE, false)
            .add(CKA_MODULUS_BITS, CK_ULONG(kTransportKeyBits))
            .add(CKA_PUBLIC_EXPONENT, QByteArray("\x01\x00\x01", 3))
            // The key-management HSM wraps with its copy; this one never needs to.
            .add(CKA_ENCRYPT, false)
            .add(CKA_WRAP, false)
            .add(CKA_VERIFY, false)
            .addText(CKA_LABEL, labels::transportKey)
            .add(CKA_ID, id);
        Template kt;
        kt.add(CKA_CLASS, CK_ULONG(CKO_PRIVATE_KEY))
            .add(CKA_KEY_TYPE, CK_ULONG(CKK_RSA))
            .add(CKA_TOKEN, true)
            .add(CKA_PRIVATE, true)
            .add(CKA_SENSITIVE, true)
            .add(CKA_EXTRACTABLE, false)
            .add(CKA_UNWRAP, true) // its one use: C_UnwrapKey of the image key
            .add(CKA_DECRYPT, false)
            .add(CKA_SIGN, false)
            .add(CKA_DERIVE, false)
            .addText(CKA_LABEL, labels::transportKey)
            .add(CKA_ID, id);
        CK_MECHANISM mech{CKM_RSA_PKCS_KEY_PAIR_GEN, nullptr, 0};
        CK_OBJECT_HANDLE hp = CK_INVALID_HANDLE, hk = CK_INVALID_HANDLE;
        const CK_RV rv = s.check(s.fn()->C_GenerateKeyPair(s.handle(), &mech, pt.data(), pt.size(),
                                                           kt.data(), kt.size(), &hp, &hk));
        if (rv != CKR_OK)
            return p11Error(QStringLiteral("generating RSA-%1 transport key '%2'")
                                .arg(kTransportKeyBits)
                                .arg(labels::transportKey),
                            rv);
        pub = hp;
        out.created = true;
    }
    KL_TRY_ASSIGN(out.publicKeySpki, rsaSpki(s, *pub));
    return out;
}

Result<ImageKeyImport> importImageKey(Pkcs11Hsm& hsm, const QByteArray& wrapped, OaepHash hash,
                                      const QByteArray& expectKcv) {
    KL_TRY_ASSIGN(SessionLease s, hsm.pool().acquire());
    KL_TRY_ASSIGN(const bool imagePresent, imageKeyPresent(s));
    if (imagePresent)
        return imageKeyThere(hsm);
    KL_TRY_ASSIGN(const auto priv, findOne(s, {CKO_PRIVATE_KEY, labels::transportKey, {}}));
    if (!priv)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("transport key '%1' is not on token '%2': run `keyline hsm "
                                    "ceremony transport-key -o transport.pub.pem` first and have "
                                    "the image key wrapped under that public key")
                         .arg(labels::transportKey, hsm.tokenLabel()));
    KL_TRY_ASSIGN(const QByteArray modulus, getAttribute(s, *priv, CKA_MODULUS));
    if (wrapped.size() != modulus.size())
        return Error(ErrorCode::BadInput,
                     QStringLiteral("--wrapped: expected %1 bytes of raw RSA-OAEP ciphertext for "
                                    "the %2-bit transport key, the file has %3")
                         .arg(modulus.size())
                         .arg(modulus.size() * 8)
                         .arg(wrapped.size()));

    const bool sha256 = hash == OaepHash::Sha256;
    CK_RSA_PKCS_OAEP_PARAMS oaep{};
    oaep.hashAlg = sha256 ? CKM_SHA256 : CKM_SHA_1;
    oaep.mgf = sha256 ? CKG_MGF1_SHA256 : CKG_MGF1_SHA1;
    oaep.source = CKZ_DATA_SPECIFIED;
    oaep.pSourceData = nullptr;
    oaep.ulSourceDataLen = 0;
    CK_MECHANISM mech{CKM_RSA_PKCS_OAEP, &oaep, sizeof oaep};
    Template t = imageKeyTemplate();
    QByteArray blob = wrapped;
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    const CK_RV rv = s.check(s.fn()->C_UnwrapKey(s.handle(), &mech, *priv,
                                                 reinterpret_cast<CK_BYTE*>(blob.data()),
                                                 CK_ULONG(blob.size()), t.data(), t.size(), &key));
    if (rv != CKR_OK)
        return unwrapError(rv, hash);
    // Until every check passed, the new token object is removed again on the way out.
    auto destroy = qScopeGuard([&] { s.fn()->C_DestroyObject(s.handle(), key); });

    KL_TRY_ASSIGN(const CK_ULONG length, secretKeyLength(s, key));
    if (length != 32)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("the wrapped key is %1 bytes, not an AES-256 key (32 bytes); "
                                    "nothing was kept")
                         .arg(length));
    ImageKeyImport out;
    KL_TRY_ASSIGN(out.kcv, keyCheckValue(s, key));
    if (!expectKcv.isEmpty() && expectKcv != out.kcv)
        return Error(
            ErrorCode::VerificationFailed,
            QStringLiteral("the imported image key has KCV %1, the ceremony expects %2: "
                           "it is not the product's image key; it was destroyed again")
                .arg(QString::fromLatin1(out.kcv.toHex()), QString::fromLatin1(expectKcv.toHex())));
    destroy.dismiss();

    // The transport pair has served its one purpose; keeping it would only let someone with the
    // PIN unwrap keys of their choosing into this HSM later.
    // A failure here does not undo the import: the caller reports the pair is still there.
    const auto pub = findOne(s, {CKO_PUBLIC_KEY, labels::transportKey, {}});
    out.transportKeyDestroyed = s.fn()->C_DestroyObject(s.handle(), *priv) == CKR_OK;
    if (pub.ok() && pub->has_value())
        s.fn()->C_DestroyObject(s.handle(), **pub);
    return out;
}

} // namespace keyline::hsm
