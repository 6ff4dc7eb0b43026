// Region names, field rules and the small crypto the package format needs (hashes, fixed-size
// ECDSA signatures, key ids). EVP only.

#include "common/ossl_ptr.h"
#include "firmware_image/package_internal.h"

#include <algorithm>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

namespace keyline::firmware {

QString regionName(PackageRegion r) {
    switch (r) {
    case PackageRegion::None:
        return QStringLiteral("none");
    case PackageRegion::Length:
        return QStringLiteral("length");
    case PackageRegion::Header:
        return QStringLiteral("header");
    case PackageRegion::Manifest:
        return QStringLiteral("manifest");
    case PackageRegion::ManifestSignature:
        return QStringLiteral("manifest-signature");
    case PackageRegion::AppManifest:
        return QStringLiteral("app-manifest");
    case PackageRegion::AppSignature:
        return QStringLiteral("app-signature");
    case PackageRegion::Application:
        return QStringLiteral("application");
    case PackageRegion::OsIv:
        return QStringLiteral("os-iv");
    case PackageRegion::OsComponent:
        return QStringLiteral("os-component");
    case PackageRegion::OsTag:
        return QStringLiteral("os-tag");
    case PackageRegion::Keystore:
        return QStringLiteral("keystore");
    case PackageRegion::Rollback:
        return QStringLiteral("rollback");
    case PackageRegion::Customer:
        return QStringLiteral("customer");
    case PackageRegion::Environment:
        return QStringLiteral("environment");
    case PackageRegion::Hardware:
        return QStringLiteral("hardware");
    }
    return QStringLiteral("unknown");
}

PackageRegion regionOf(const Error& e) {
    const int d = e.detail();
    if (d < int(PackageRegion::Length) || d > int(PackageRegion::Hardware) ||
        !e.message().startsWith(QLatin1String("package region '")))
        return PackageRegion::None;
    return PackageRegion(d);
}

namespace pkg {

using PkeyPtr = OsslPtr<EVP_PKEY, EVP_PKEY_free>;

Error regionError(ErrorCode code, PackageRegion region, const QString& what) {
    return Error(code, QStringLiteral("package region '%1': %2").arg(regionName(region), what),
                 int(region));
}

namespace {

bool allOf(QByteArrayView b, qsizetype maxLen, bool (*ok)(char)) {
    return !b.isEmpty() && b.size() <= maxLen && std::all_of(b.begin(), b.end(), ok);
}

bool idChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

} // namespace

bool validCustomerId(QByteArrayView id) {
    return allOf(id, 64, idChar);
}
bool validAppName(QByteArrayView name) {
    return allOf(name, 64, idChar);
}
bool validComponentName(QByteArrayView name) {
    return allOf(name, 32, [](char c) { return idChar(c) && !(c >= 'A' && c <= 'Z'); });
}
bool validVersion(QByteArrayView v) {
    return allOf(v, 32, [](char c) { return c >= 0x21 && c <= 0x7e; });
}
bool validHardwareId(QByteArrayView h) {
    return allOf(h, 64, [](char c) { return c >= 0x20 && c <= 0x7e; }) && h.front() != ' ' &&
           h.back() != ' ';
}

Result<void> checkHardwareList(const QStringList& list, PackageRegion region, bool fromOutside) {
    auto fail = [&](const QString& why) {
        return fromOutside
                   ? bad(region, QStringLiteral("hardware"), why)
                   : Error(ErrorCode::InvalidArgument, QStringLiteral("hardware list: ") + why);
    };
    if (list.isEmpty() || list.size() > kMaxHardwareEntries)
        return fail(QStringLiteral("%1 entries, expected 1 to %2")
                        .arg(list.size())
                        .arg(kMaxHardwareEntries));
    for (int i = 0; i < list.size(); ++i) {
        if (!validHardwareId(list[i].toLatin1()) || list[i].toLatin1() != list[i].toUtf8())
            return fail(QStringLiteral("entry %1 must be 1 to 64 printable ASCII characters, no "
                                       "space at either end")
                            .arg(i));
        if (i > 0 && list[i - 1].toLatin1() >= list[i].toLatin1())
            return fail(QStringLiteral("entries must be sorted and unique"));
    }
    return success();
}

void putHardware(QByteArray& out, const QStringList& list) {
    out.append(char(list.size()));
    for (const QString& h : list) {
        const QByteArray b = h.toLatin1();
        out.append(char(b.size()));
        out.append(b);
    }
}

Result<QStringList> readHardware(Reader& r, PackageRegion region) {
    quint8 count = 0;
    if (!r.num(&count))
        return bad(region, QStringLiteral("hardware"), QStringLiteral("truncated"));
    QStringList list;
    for (int i = 0; i < count; ++i) {
        quint8 len = 0;
        QByteArrayView h;
        if (!r.num(&len) || !r.take(len, &h))
            return bad(region, QStringLiteral("hardware"), QStringLiteral("truncated"));
        list << QString::fromLatin1(h);
    }
    KL_TRY(checkHardwareList(list, region, true));
    return list;
}

QByteArray sha256(QByteArrayView data) {
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(data.data(), std::size_t(data.size()), md, &len, EVP_sha256(), nullptr);
    return QByteArray(reinterpret_cast<const char*>(md), int(len));
}

Sha256::Sha256()
    : m_ctx(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(m_ctx), EVP_sha256(), nullptr);
}
Sha256::~Sha256() {
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(m_ctx));
}
void Sha256::add(QByteArrayView data) {
    EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(m_ctx), data.data(), std::size_t(data.size()));
}
QByteArray Sha256::final() {
    unsigned char md[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(m_ctx), md, &len);
    return QByteArray(reinterpret_cast<const char*>(md), int(len));
}

QByteArray contextMessage(const char* context, QByteArrayView body) {
    QByteArray m(context);
    m.append('\0');
    m.append(body);
    return m;
}

Result<QByteArray> derToRaw(const QByteArray& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.constData());
    OsslPtr<ECDSA_SIG, ECDSA_SIG_free> sig(d2i_ECDSA_SIG(nullptr, &p, long(der.size())));
    if (!sig)
        return Error(ErrorCode::Internal, QStringLiteral("signer returned no DER ECDSA signature"));
    QByteArray raw(64, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, 32) != 32 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + 32, 32) != 32)
        return Error(ErrorCode::Internal, QStringLiteral("signature is not a P-256 signature"));
    return raw;
}

Result<QByteArray> signRaw(const Signer& signer, const char* context, QByteArrayView body) {
    KL_TRY_ASSIGN(const QByteArray der, signer.signDigest(sha256(contextMessage(context, body))));
    return derToRaw(der);
}

bool verifyRaw(const QByteArray& key, const char* context, QByteArrayView body,
               QByteArrayView signature) {
    if (signature.size() != kSignatureBytes)
        return false;
    const auto pkey = PublicKey::parse(key);
    if (!pkey)
        return false;
    const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
    OsslPtr<ECDSA_SIG, ECDSA_SIG_free> sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(raw, 32, nullptr);
    BIGNUM* s = BN_bin2bn(raw + 32, 32, nullptr);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        return false;
    }
    unsigned char* der = nullptr;
    const int derLen = i2d_ECDSA_SIG(sig.get(), &der);
    if (derLen <= 0)
        return false;
    const QByteArray message = contextMessage(context, body);
    OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free> md(EVP_MD_CTX_new());
    const bool ok =
        md && EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, pkey->get()) == 1 &&
        EVP_DigestVerify(md.get(), der, std::size_t(derLen),
                         reinterpret_cast<const unsigned char*>(message.constData()),
                         std::size_t(message.size())) == 1;
    OPENSSL_free(der);
    return ok;
}

QByteArray keyIdOf(const QByteArray& key) {
    const auto pkey = PublicKey::parse(key);
    return pkey ? pkey->keyId() : QByteArray();
}

} // namespace pkg

bool isValidCustomerId(const QString& id) {
    return pkg::validCustomerId(id.toUtf8());
}

} // namespace keyline::firmware
