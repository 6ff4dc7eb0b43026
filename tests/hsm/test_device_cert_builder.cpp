// The device certificate builder writes DER itself; these tests hold it to what OpenSSL's X509
// API makes from the same fields, byte for byte, across the lengths where DER length forms
// change and across the UTCTime/GeneralizedTime boundary.

#include "csr_maker.h"
#include "hsm/device_cert_builder.h"
#include "hsm/x509_sign.h"

#include <QRandomGenerator>
#include <catch2/catch.hpp>
#include <openssl/x509v3.h>

using namespace keyline;
using namespace keyline::hsm;
using keyline::test::makeEcKey;
using keyline::test::PkeyPtr;

namespace {

using TimePtr = OsslPtr<ASN1_TIME, ASN1_TIME_free>;

void addExt(X509* x, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
    OsslPtr<X509_EXTENSION, X509_EXTENSION_free> ext(
        X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    REQUIRE(ext);
    REQUIRE(X509_add_ext(x, ext.get(), -1) == 1);
}

void addName(X509_NAME* name, const char* field, const QByteArray& value) {
    REQUIRE(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(value.constData()),
                                       int(value.size()), -1, 0) == 1);
}

struct TestCa {
    PkeyPtr key = makeEcKey();
    X509Ptr cert{X509_new()};

    explicit TestCa(const QByteArray& cn) {
        X509* x = cert.get();
        REQUIRE(X509_set_version(x, X509_VERSION_3) == 1);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
        addName(X509_get_subject_name(x), "O", "Keyline");
        addName(X509_get_subject_name(x), "CN", cn);
        REQUIRE(X509_set_issuer_name(x, X509_get_subject_name(x)) == 1);
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365 * 40);
        REQUIRE(X509_set_pubkey(x, key.get()) == 1);
        addExt(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
        addExt(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
        addExt(x, x, NID_subject_key_identifier, "hash");
        REQUIRE(X509_sign(x, key.get(), EVP_sha256()) > 0);
    }
};

QByteArray pointOf(EVP_PKEY* key) {
    unsigned char buf[65];
    size_t len = 0;
    REQUIRE(EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", buf, sizeof buf, &len) == 1);
    return QByteArray(reinterpret_cast<const char*>(buf), qsizetype(len));
}

// The same certificate body made through OpenSSL's X509 object, as x509_sign.cpp does for the
// station's own certificates.
QByteArray referenceTbs(X509* ca, EVP_PKEY* subjectKey, const DeviceCertificateFields& f,
                        const ASN1_TIME* notBefore, const ASN1_TIME* notAfter) {
    X509Ptr x(X509_new());
    REQUIRE(X509_set_version(x.get(), X509_VERSION_3) == 1);
    OsslPtr<BIGNUM, BN_free> serial(
        BN_bin2bn(reinterpret_cast<const unsigned char*>(f.serial.constData()),
                  int(f.serial.size()), nullptr));
    REQUIRE(BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x.get())));
    REQUIRE(X509_set_issuer_name(x.get(), X509_get_subject_name(ca)) == 1);
    REQUIRE(X509_set1_notBefore(x.get(), notBefore) == 1);
    REQUIRE(X509_set1_notAfter(x.get(), notAfter) == 1);
    X509_NAME* name = X509_get_subject_name(x.get());
    addName(name, "O", f.customerId);
    addName(name, "OU", f.environment);
    addName(name, "CN", f.deviceId);
    REQUIRE(X509_set_pubkey(x.get(), subjectKey) == 1);
    addExt(x.get(), ca, NID_basic_constraints, "critical,CA:FALSE");
    addExt(x.get(), ca, NID_key_usage, "critical,digitalSignature");
    addExt(x.get(), ca, NID_ext_key_usage, "clientAuth");
    addExt(x.get(), ca, NID_subject_key_identifier, "hash");
    addExt(x.get(), ca, NID_authority_key_identifier, "keyid:always");
    auto* alg = const_cast<X509_ALGOR*>(X509_get0_tbs_sigalg(x.get()));
    REQUIRE(X509_ALGOR_set0(alg, OBJ_nid2obj(NID_ecdsa_with_SHA256), V_ASN1_UNDEF, nullptr));
    unsigned char* der = nullptr;
    const int len = i2d_re_X509_tbs(x.get(), &der);
    REQUIRE(len > 0);
    QByteArray out(reinterpret_cast<const char*>(der), len);
    OPENSSL_free(der);
    return out;
}

QByteArray identifier(int length) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    QByteArray out;
    for (int i = 0; i < length; ++i)
        out.append(alphabet[QRandomGenerator::global()->bounded(int(sizeof alphabet - 1))]);
    return out;
}

QByteArray randomSerial() {
    QByteArray s(16, '\0');
    for (char& c : s)
        c = char(QRandomGenerator::global()->bounded(256));
    s[0] = char((s[0] & 0x7f) | 0x40);
    return s;
}

} // namespace

TEST_CASE("device certificate bodies equal what OpenSSL's X509 API encodes") {
    const int caNameLength = GENERATE(1, 20, 64);
    TestCa ca(identifier(caNameLength));
    auto builder = DeviceCertificateBuilder::forIssuer(ca.cert.get());
    REQUIRE(builder.ok());

    TimePtr notBefore(X509_time_adj_ex(nullptr, 0, -300, nullptr));
    // 2049-12-31 is the last UTCTime; 2050-01-01 onwards is GeneralizedTime (RFC 5280).
    const long afterSeconds = GENERATE(86400L, 2524607999L, 2524608000L, 4102444800L);
    TimePtr notAfter(ASN1_TIME_set(nullptr, time_t(afterSeconds)));
    REQUIRE(notAfter);

    for (int round = 0; round < 40; ++round) {
        PkeyPtr device = makeEcKey();
        DeviceCertificateFields f;
        f.serial = randomSerial();
        f.notBefore = timeDer(notBefore.get());
        f.notAfter = timeDer(notAfter.get());
        // 1…64 characters each, so the subject and TBS lengths cross the DER short/long forms.
        f.customerId = identifier(1 + round % 64);
        f.environment = round % 2 ? QByteArray("prod") : QByteArray("dev");
        f.deviceId = identifier(64 - (round * 7) % 64);
        f.point = pointOf(device.get());
        const QByteArray mine = builder->toBeSigned(f);
        const QByteArray reference =
            referenceTbs(ca.cert.get(), device.get(), f, notBefore.get(), notAfter.get());
        INFO("round " << round << ", customer " << f.customerId.size() << " bytes, device "
                      << f.deviceId.size() << " bytes");
        REQUIRE(mine.toHex().toStdString() == reference.toHex().toStdString());
    }
}

TEST_CASE("assembled device certificates parse and verify against the CA key") {
    TestCa ca("keyline-issuing-ca");
    auto builder = DeviceCertificateBuilder::forIssuer(ca.cert.get());
    REQUIRE(builder.ok());
    TimePtr notBefore(X509_time_adj_ex(nullptr, 0, -300, nullptr));
    TimePtr notAfter(X509_time_adj_ex(nullptr, 3650, 0, nullptr));
    for (int round = 0; round < 20; ++round) {
        PkeyPtr device = makeEcKey();
        DeviceCertificateFields f{
            randomSerial(), timeDer(notBefore.get()),  timeDer(notAfter.get()), "acme-42",
            "dev",          identifier(1 + round * 3), pointOf(device.get())};
        const QByteArray tbs = builder->toBeSigned(f);
        // Sign the body's SHA-256 with the CA's software key, as the HSM would.
        OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
        size_t sigLen = 0;
        REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, ca.key.get()) == 1);
        REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &sigLen,
                               reinterpret_cast<const unsigned char*>(tbs.constData()),
                               size_t(tbs.size())) == 1);
        QByteArray sig(qsizetype(sigLen), '\0');
        REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sigLen,
                               reinterpret_cast<const unsigned char*>(tbs.constData()),
                               size_t(tbs.size())) == 1);
        sig.truncate(qsizetype(sigLen));

        const QByteArray der = DeviceCertificateBuilder::certificate(tbs, sig);
        auto parsed = parseCertificate(der);
        REQUIRE(parsed.ok());
        CHECK(X509_verify(parsed->get(), ca.key.get()) == 1);
        CHECK(certificateDer(parsed->get()) == der); // nothing re-encoded differently
        CHECK(EVP_PKEY_eq(X509_get0_pubkey(parsed->get()), device.get()) == 1);
        CHECK(X509_check_issued(ca.cert.get(), parsed->get()) == X509_V_OK);
    }
}

TEST_CASE("a CA certificate without a subject key identifier is refused") {
    PkeyPtr key = makeEcKey();
    X509Ptr x(X509_new());
    X509_set_version(x.get(), X509_VERSION_3);
    addName(X509_get_subject_name(x.get()), "CN", "no-ski");
    X509_set_issuer_name(x.get(), X509_get_subject_name(x.get()));
    X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
    X509_set_pubkey(x.get(), key.get());
    REQUIRE(X509_sign(x.get(), key.get(), EVP_sha256()) > 0);
    auto builder = DeviceCertificateBuilder::forIssuer(x.get());
    REQUIRE_FALSE(builder.ok());
    CHECK(builder.error().code() == ErrorCode::EnvironmentNotReady);
    CHECK(builder.error().message().contains(QStringLiteral("subject key identifier")));
}
