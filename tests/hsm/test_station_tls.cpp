// The station's TLS client key for the back-end (keyline-station-tls): made by init-dev in the
// HSM, never extractable, with a client certificate the registry accepts as a station; and the
// TLS identity through pkcs11-helper, whose OpenSSL key signs inside the token.
#include "hsm/dev_tls_certs.h"
#include "hsm/hsm_fixture.h"
#include "hsm/key_inventory.h"
#include "hsm/key_objects.h"
#include "hsm/p11.h"
#include "hsm/tls_identity.h"
#include "hsm/x509_sign.h"

#include <QDir>
#include <QFile>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

using namespace keyline;
using namespace keyline::hsm;
using keyline::test::DevTokenFixture;
using keyline::test::kSoftHsmModule;
using keyline::test::kTestPin;

namespace {

QString subjectField(X509* cert, int nid) {
    const int i = X509_NAME_get_index_by_NID(X509_get_subject_name(cert), nid, -1);
    if (i < 0)
        return {};
    const ASN1_STRING* s =
        X509_NAME_ENTRY_get_data(X509_NAME_get_entry(X509_get_subject_name(cert), i));
    return QString::fromUtf8(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                             ASN1_STRING_length(s));
}

X509Ptr readPem(const QString& path) {
    QFile f(path);
    REQUIRE(f.open(QIODevice::ReadOnly));
    const QByteArray pem = f.readAll();
    OsslPtr<BIO, BIO_free> bio(BIO_new_mem_buf(pem.constData(), int(pem.size())));
    X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    REQUIRE(x);
    return x;
}

bool verifiesUnderRoot(X509* leaf, X509* root, int purpose) {
    OsslPtr<X509_STORE, X509_STORE_free> store(X509_STORE_new());
    X509_STORE_add_cert(store.get(), root);
    X509_STORE_set_flags(store.get(), X509_V_FLAG_X509_STRICT);
    X509_STORE_set_purpose(store.get(), purpose);
    OsslPtr<X509_STORE_CTX, X509_STORE_CTX_free> ctx(X509_STORE_CTX_new());
    X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr);
    const bool ok = X509_verify_cert(ctx.get()) == 1;
    INFO(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
    return ok;
}

} // namespace

TEST_CASE("init-dev makes the station TLS key non-extractable with a station client certificate") {
    DevTokenFixture fx;
    CHECK(fx.report.created.contains(labels::stationTls));
    auto hsm = fx.open();
    auto s = hsm->pool().acquire();
    REQUIRE(s.ok());
    auto key = findOne(*s, {CKO_PRIVATE_KEY, labels::stationTls, {}});
    REQUIRE(key.ok());
    REQUIRE(key->has_value());
    CHECK(getBool(*s, **key, CKA_SENSITIVE).valueOr(false));
    CHECK_FALSE(getBool(*s, **key, CKA_EXTRACTABLE).valueOr(true));
    CHECK(getBool(*s, **key, CKA_NEVER_EXTRACTABLE).valueOr(false));
    CHECK(getBool(*s, **key, CKA_SIGN).valueOr(false));
    auto value = getAttribute(*s, **key, CKA_VALUE);
    REQUIRE_FALSE(value.ok());
    CHECK(value.error().detail() == int(CKR_ATTRIBUTE_SENSITIVE));

    auto der = hsm->certificate(hsm->uriFor(labels::stationTls, QStringLiteral("cert")));
    REQUIRE(der.ok());
    auto cert = parseCertificate(*der);
    REQUIRE(cert.ok());
    X509* x = cert->get();
    CHECK(subjectField(x, NID_organizationalUnitName) == QStringLiteral("station"));
    CHECK_FALSE(subjectField(x, NID_commonName).isEmpty());
    CHECK((X509_get_extended_key_usage(x) & XKU_SSL_CLIENT) != 0);
    CHECK((X509_get_extended_key_usage(x) & XKU_SSL_SERVER) == 0);
    CHECK(X509_check_ca(x) == 0);
    const auto root =
        readPem(QDir(fx.report.exportDir).filePath(QStringLiteral("device-root-ca.pem")));
    CHECK(verifiesUnderRoot(x, root.get(), X509_PURPOSE_SSL_CLIENT));
    CHECK_FALSE(verifiesUnderRoot(x, root.get(), X509_PURPOSE_SSL_SERVER));
    // Its certificate is exported for the registry's operators.
    CHECK(QFile::exists(QDir(fx.report.exportDir).filePath(QStringLiteral("station-tls.pem"))));
}

TEST_CASE("init-dev names the station in the TLS certificate and keeps it on a second run") {
    QTemporaryDir dir;
    DevTokenOptions o;
    o.dataDir = dir.path();
    o.modulePath = kSoftHsmModule;
    o.userPin = kTestPin;
    o.stationName = QStringLiteral("station-07");
    auto first = initDevToken(o);
    REQUIRE(first.ok());
    const auto exported =
        readPem(QDir(first->exportDir).filePath(QStringLiteral("station-tls.pem")));
    CHECK(subjectField(exported.get(), NID_commonName) == QStringLiteral("station-07"));
    const QString registryCert = QDir(first->exportDir).filePath(kRegistryDevCertFile);
    const auto server = readPem(registryCert);
    const auto root =
        readPem(QDir(first->exportDir).filePath(QStringLiteral("device-root-ca.pem")));
    CHECK(verifiesUnderRoot(server.get(), root.get(), X509_PURPOSE_SSL_SERVER));
    CHECK(X509_check_ip_asc(server.get(), "127.0.0.1", 0) == 1);
    CHECK((QFile::permissions(QDir(first->exportDir).filePath(kRegistryDevKeyFile)) &
           (QFileDevice::ReadGroup | QFileDevice::ReadOther)) == 0);
    auto second = initDevToken(o);
    REQUIRE(second.ok());
    CHECK(second->created.isEmpty());
    CHECK(second->present.contains(labels::stationTls + QStringLiteral(" (certificate)")));
}

TEST_CASE("the TLS identity signs in the HSM through pkcs11-helper's OpenSSL key") {
    DevTokenFixture fx;
    auto hsm = fx.open();
    auto identity = TlsClientIdentity::open(*hsm, kSoftHsmModule, PinSource::fixed(kTestPin),
                                            hsm->uriFor(labels::stationTls));
    if (!identity.ok())
        FAIL(identity.error().toString().toStdString());
    auto cert = parseCertificate((*identity)->certificateDer());
    REQUIRE(cert.ok());
    EvpPkeyPtr key((*identity)->newPrivateKey());
    REQUIRE(key);
    CHECK(EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_EC);
    CHECK(X509_check_private_key(cert->get(), key.get()) == 1);

    const QByteArray message = QByteArrayLiteral("client handshake transcript");
    OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free> sign(EVP_MD_CTX_new());
    REQUIRE(EVP_DigestSignInit(sign.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1);
    size_t len = 0;
    REQUIRE(EVP_DigestSign(sign.get(), nullptr, &len,
                           reinterpret_cast<const unsigned char*>(message.constData()),
                           size_t(message.size())) == 1);
    QByteArray sig(int(len), '\0');
    REQUIRE(EVP_DigestSign(sign.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(message.constData()),
                           size_t(message.size())) == 1);
    sig.resize(int(len));
    OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free> verify(EVP_MD_CTX_new());
    REQUIRE(EVP_DigestVerifyInit(verify.get(), nullptr, EVP_sha256(), nullptr,
                                 X509_get0_pubkey(cert->get())) == 1);
    CHECK(EVP_DigestVerify(verify.get(), reinterpret_cast<const unsigned char*>(sig.constData()),
                           size_t(sig.size()),
                           reinterpret_cast<const unsigned char*>(message.constData()),
                           size_t(message.size())) == 1);
}

TEST_CASE("the TLS identity names the fix when the key has no certificate") {
    DevTokenFixture fx;
    auto hsm = fx.open();
    auto identity = TlsClientIdentity::open(*hsm, kSoftHsmModule, PinSource::fixed(kTestPin),
                                            hsm->uriFor(QStringLiteral("no-such-key")));
    REQUIRE_FALSE(identity.ok());
    CHECK(identity.error().code() == ErrorCode::EnvironmentNotReady);
    CHECK(identity.error().message().contains(QStringLiteral("init-dev")));
}
