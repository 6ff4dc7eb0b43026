// The strict PKCS#10 parse behind checkDeviceCsr(): requests assembled field by field, each
// one DER rule broken, and properly signed so the parse is the only thing that can refuse them.

#include "csr_maker.h"
#include "hsm/csr_check.h"
#include "hsm/ec_util.h"
#include "hsm/x509_sign.h"

#include <catch2/catch.hpp>
#include <openssl/core_names.h>

using namespace keyline;
using namespace keyline::hsm;
using keyline::test::makeCsr;
using keyline::test::makeEcKey;

namespace {

const QString kId = QStringLiteral("dev-0042");

QByteArray tlv(unsigned char tag, const QByteArray& content) {
    QByteArray out(1, char(tag));
    const qsizetype n = content.size();
    if (n < 0x80)
        out.append(char(n));
    else if (n < 0x100)
        out.append(char(0x81)).append(char(n));
    else
        out.append(char(0x82)).append(char(n >> 8)).append(char(n & 0xff));
    return out + content;
}

// Always two length octets: non-minimal for anything shorter than 256 bytes.
QByteArray tlvLong(unsigned char tag, const QByteArray& content) {
    QByteArray out(1, char(tag));
    out.append(char(0x82)).append(char(content.size() >> 8)).append(char(content.size() & 0xff));
    return out + content;
}

QByteArray oidTlv(const char* bytes, int n) {
    return tlv(0x06, QByteArray(bytes, n));
}
const QByteArray kEcdsaSha256 = oidTlv("\x2a\x86\x48\xce\x3d\x04\x03\x02", 8);
const QByteArray kEcdsaSha384 = oidTlv("\x2a\x86\x48\xce\x3d\x04\x03\x03", 8);
const QByteArray kCnOid = oidTlv("\x55\x04\x03", 3);

QByteArray point(EVP_PKEY* key) {
    unsigned char buf[65];
    size_t len = 0;
    REQUIRE(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf,
                                            sizeof buf, &len) == 1);
    return QByteArray(reinterpret_cast<const char*>(buf), int(len));
}

QByteArray sign(EVP_PKEY* key, const QByteArray& data, const char* md = "SHA256") {
    OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
    unsigned char sig[160];
    size_t len = sizeof sig;
    REQUIRE(EVP_DigestSignInit_ex(ctx.get(), nullptr, md, nullptr, nullptr, key, nullptr) == 1);
    REQUIRE(EVP_DigestSign(ctx.get(), sig, &len,
                           reinterpret_cast<const unsigned char*>(data.constData()),
                           std::size_t(data.size())) == 1);
    return QByteArray(reinterpret_cast<const char*>(sig), int(len));
}

// A request built from parts; each test changes one.
struct Parts {
    EVP_PKEY* key;
    QByteArray version = tlv(0x02, QByteArray(1, '\0'));
    QByteArray subject = tlv(0x30, tlv(0x31, tlv(0x30, kCnOid + tlv(0x0c, kId.toUtf8()))));
    QByteArray spki;
    QByteArray attributes = tlv(0xa0, {});
    QByteArray extraInInfo;
    QByteArray sigAlg = tlv(0x30, kEcdsaSha256);
    const char* md = "SHA256";
    QByteArray extraAfterSignature;
    bool longInfoLength = false;

    explicit Parts(EVP_PKEY* k)
        : key(k)
        , spki(p256SpkiFromPoint(point(k))) {}

    QByteArray build() const {
        const QByteArray body = version + subject + spki + attributes + extraInInfo;
        const QByteArray info = longInfoLength ? tlvLong(0x30, body) : tlv(0x30, body);
        const QByteArray sig = tlv(0x03, QByteArray(1, '\0') + sign(key, info, md));
        return tlv(0x30, info + sigAlg + sig + extraAfterSignature);
    }
};

int rejection(const QByteArray& csr) {
    auto r = checkDeviceCsr(csr, kId);
    if (r.ok())
        return 0;
    INFO(r.error().toString().toStdString());
    CHECK(r.error().toString().contains(csrRejectionName(CsrRejection(r.error().detail()))));
    return r.error().detail();
}

constexpr int kAccepted = 0;
constexpr int kMalformed = int(CsrRejection::Malformed);

} // namespace

TEST_CASE("the hand-built request passes, and matches what OpenSSL makes") {
    auto key = makeEcKey();
    Parts parts(key.get());
    auto checked = checkDeviceCsr(parts.build(), kId);
    if (!checked.ok())
        FAIL(checked.error().toString().toStdString());
    CHECK(checked->publicPoint() == point(key.get()));
    CHECK(checked->publicKeySpki() == p256SpkiFromPoint(point(key.get())));
    CHECK(checked->deviceId() == kId);
    auto viaOpenssl = checkDeviceCsr(makeCsr(key.get(), kId), kId);
    REQUIRE(viaOpenssl.ok());
    CHECK(viaOpenssl->publicKeySpki() == checked->publicKeySpki());
}

TEST_CASE("DER rules the parse enforces") {
    auto key = makeEcKey();
    Parts p(key.get());
    const QByteArray good = p.build();

    SECTION("trailing bytes and fields") {
        CHECK(rejection(good + QByteArray(1, '\0')) == kMalformed);
        p.extraInInfo = tlv(0x02, QByteArray(1, '\0'));
        CHECK(rejection(p.build()) == kMalformed);
        p.extraInInfo.clear();
        p.extraAfterSignature = tlv(0x05, {});
        CHECK(rejection(p.build()) == kMalformed);
    }
    SECTION("lengths past the end") {
        QByteArray bad = good;
        bad[3] = char(bad[3] + 1); // outer SEQUENCE is 30 82 hi lo
        CHECK(rejection(bad) == kMalformed);
        for (int cut = 1; cut < good.size(); cut += 7)
            CHECK(rejection(good.left(cut)) == kMalformed);
    }
    SECTION("non-minimal and indefinite lengths") {
        p.longInfoLength = true;
        CHECK(rejection(p.build()) == kMalformed);
        p.longInfoLength = false;
        p.version = QByteArray("\x02\x81\x01\x00", 4);
        CHECK(rejection(p.build()) == kMalformed);
        QByteArray indefinite = good;
        indefinite.replace(0, 4, QByteArray("\x30\x80", 2));
        indefinite.append(QByteArray("\x00\x00", 2));
        CHECK(rejection(indefinite) == kMalformed);
    }
    SECTION("version") {
        p.version = tlv(0x02, QByteArray(1, '\1'));
        CHECK(rejection(p.build()) == kMalformed);
        p.version = tlv(0x02, QByteArray(2, '\0'));
        CHECK(rejection(p.build()) == kMalformed);
        p.version.clear();
        CHECK(rejection(p.build()) == kMalformed);
    }
    SECTION("attributes") {
        p.attributes.clear();
        CHECK(rejection(p.build()) == kMalformed);
        // A well-formed extensionRequest is accepted and ignored.
        p.attributes = tlv(0xa0, tlv(0x30, oidTlv("\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0e", 9) +
                                               tlv(0x31, tlv(0x30, {}))));
        CHECK(rejection(p.build()) == kAccepted);
        QByteArray deep = tlv(0x05, {});
        for (int i = 0; i < 40; ++i)
            deep = tlv(0x30, deep);
        p.attributes = tlv(0xa0, tlv(0x30, kCnOid + tlv(0x31, deep)));
        CHECK(rejection(p.build()) == kMalformed);
        p.attributes = tlv(0xa0, tlv(0x30, kCnOid + tlv(0x31, tlv(0x24, tlv(0x04, "x")))));
        CHECK(rejection(p.build()) == kMalformed); // constructed OCTET STRING is BER
    }
    SECTION("tags") {
        QByteArray bad = good;
        bad[0] = char(0x3f); // multi-byte tag form
        CHECK(rejection(bad) == kMalformed);
        p.subject = tlv(0x30, tlv(0x31, tlv(0x30, kCnOid + tlv(0x30, tlv(0x0c, "x")))));
        CHECK(rejection(p.build()) == kMalformed);
    }
    SECTION("public key") {
        QByteArray compressed = point(key.get()).left(33);
        compressed[0] = char(0x02 + (point(key.get()).back() & 1));
        p.spki = p256SpkiFromPoint(point(key.get())).left(26) + compressed;
        p.spki[1] = char(p.spki.size() - 2);
        p.spki[24] = char(compressed.size() + 1);
        CHECK(rejection(p.build()) == kMalformed);
        QByteArray offCurve = point(key.get());
        offCurve[64] = char(offCurve[64] ^ 1);
        p.spki = p256SpkiFromPoint(offCurve);
        CHECK(rejection(p.build()) == kMalformed);
        // Explicit curve parameters instead of the named curve.
        p.spki = tlv(0x30, tlv(0x30, oidTlv("\x2a\x86\x48\xce\x3d\x02\x01", 7) +
                                         tlv(0x30, tlv(0x02, QByteArray(1, '\1')))) +
                               tlv(0x03, QByteArray(1, '\0') + point(key.get())));
        CHECK(rejection(p.build()) == int(CsrRejection::WrongCurve));
    }
    SECTION("subject") {
        p.subject = tlv(0x30, tlv(0x31, tlv(0x30, kCnOid + tlv(0x13, kId.toUtf8()))));
        CHECK(rejection(p.build()) == kAccepted); // PrintableString is fine
        const QByteArray cn = tlv(0x30, kCnOid + tlv(0x0c, kId.toUtf8()));
        p.subject = tlv(0x30, tlv(0x31, cn + cn));
        CHECK(rejection(p.build()) == int(CsrRejection::WrongSubject));
        p.subject = tlv(0x30, {});
        CHECK(rejection(p.build()) == int(CsrRejection::WrongSubject));
        p.subject = tlv(0x30, tlv(0x31, tlv(0x30, kCnOid + tlv(0x1e, kId.toUtf8()))));
        CHECK(rejection(p.build()) == int(CsrRejection::WrongSubject)); // BMPString
    }
    SECTION("signature algorithm") {
        p.sigAlg = tlv(0x30, kEcdsaSha384);
        p.md = "SHA384";
        CHECK(rejection(p.build()) == int(CsrRejection::BadSignature));
        p.sigAlg = tlv(0x30, kEcdsaSha256 + tlv(0x05, {}));
        p.md = "SHA256";
        CHECK(rejection(p.build()) == int(CsrRejection::BadSignature));
    }
    SECTION("PEM of another type") {
        CHECK(rejection(toPem(good, "CERTIFICATE")) == kMalformed);
        CHECK(rejection(toPem(good, "NEW CERTIFICATE REQUEST")) == kAccepted);
    }
}

TEST_CASE("a reused key object never verifies with the previous device's key") {
    auto a = makeEcKey();
    auto b = makeEcKey();
    for (int i = 0; i < 3; ++i) {
        CHECK(rejection(makeCsr(a.get(), kId)) == kAccepted);
        // b's key in the request, signed by a: must fail although a verified just before.
        CHECK(rejection(makeCsr(b.get(), kId, a.get())) == int(CsrRejection::BadSignature));
        QByteArray offCurve = point(b.get());
        offCurve[64] = char(offCurve[64] ^ 1);
        Parts p(a.get());
        p.spki = p256SpkiFromPoint(offCurve);
        CHECK(rejection(p.build()) == kMalformed);
        // After a refused point the next request still verifies with its own key.
        CHECK(rejection(makeCsr(b.get(), kId)) == kAccepted);
        CHECK(rejection(makeCsr(a.get(), kId, b.get())) == int(CsrRejection::BadSignature));
    }
}
