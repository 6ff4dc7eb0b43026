#include "hsm/ec_util.h"
#include "hsm/key_inventory.h"
#include "hsm/key_objects.h"
#include "hsm/x509_sign.h"
#include "hsm_fixture.h"

#include <QDir>
#include <QFile>
#include <atomic>
#include <openssl/evp.h>
#include <thread>

using namespace keyline;
using namespace keyline::hsm;
using keyline::test::DevTokenFixture;

namespace {

// No Catch assertions in here: it runs on worker threads, and Catch is not thread-safe.
bool verifyDigest(const QByteArray& spki, const QByteArray& digest, const QByteArray& derSig) {
    auto key = publicKeyFromSpki(spki);
    if (!key.ok())
        return false;
    OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> ctx(EVP_PKEY_CTX_new(key->get(), nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1)
        return false;
    return EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(derSig.constData()),
                           std::size_t(derSig.size()),
                           reinterpret_cast<const unsigned char*>(digest.constData()),
                           std::size_t(digest.size())) == 1;
}

} // namespace

TEST_CASE("init-dev creates the whole development set and is idempotent") {
    DevTokenFixture fx;
    CHECK(fx.report.tokenCreated);
    CHECK(fx.report.present.isEmpty());
    for (const auto& spec : keyInventory()) {
        CHECK(fx.report.created.contains(spec.label));
        if (spec.certificate)
            CHECK(fx.report.created.contains(spec.label + QStringLiteral(" (certificate)")));
    }
    for (const char* f : {"device-root-ca.pem", "issuing-ca.pem", "audit-signing.pem",
                          "keystore-signing.pub.pem", "dev-app-signing.pub.pem"})
        CHECK(QFile::exists(QDir(fx.report.exportDir).filePath(QString::fromLatin1(f))));

    DevTokenOptions o;
    o.dataDir = fx.dir.path();
    o.modulePath = test::kSoftHsmModule;
    o.userPin = test::kTestPin;
    auto again = initDevToken(o);
    REQUIRE(again.ok());
    CHECK_FALSE(again->tokenCreated);
    CHECK(again->created.isEmpty());
    CHECK(again->present.size() == fx.report.created.size());

    auto hsm = fx.open();
    auto keys = hsm->listKeys();
    REQUIRE(keys.ok());
    CHECK(keys->size() == keyInventory().size()); // no duplicates after the second run
}

TEST_CASE("hsm keys lists type, purpose and the protecting attributes") {
    DevTokenFixture fx;
    auto hsm = fx.open();
    auto keys = hsm->listKeys();
    REQUIRE(keys.ok());
    REQUIRE(keys->size() == keyInventory().size());
    for (const KeyInfo& k : *keys) {
        INFO(k.label.toStdString());
        const KeySpec* spec = findKeySpec(k.label);
        REQUIRE(spec);
        CHECK(k.purpose == spec->purpose);
        CHECK(k.sensitive);
        CHECK(k.alwaysSensitive);
        CHECK(k.extractable == spec->extractable);
        CHECK(k.hasCertificate == spec->certificate);
        CHECK(k.type == (spec->algorithm == KeyAlgorithm::Aes256 ? QStringLiteral("AES-256")
                                                                 : QStringLiteral("EC P-256")));
        CHECK(k.uri.startsWith(QStringLiteral("pkcs11:")));
        auto parsed = KeyUri::parse(k.uri);
        REQUIRE(parsed.ok());
        CHECK(parsed->object == k.label);
        CHECK(parsed->token == QStringLiteral("keyline-dev"));
    }
    // The security rule by name: CA, keystore and audit keys can never leave the HSM.
    for (const QString& label :
         {labels::deviceRootCa, labels::issuingCa, labels::keystoreSigning, labels::auditSigning}) {
        auto it = std::find_if(keys->begin(), keys->end(),
                               [&](const KeyInfo& k) { return k.label == label; });
        REQUIRE(it != keys->end());
        CHECK_FALSE(it->extractable);
        CHECK(it->neverExtractable);
    }
}

TEST_CASE("the secret value of every key cannot be read") {
    DevTokenFixture fx;
    auto hsm = fx.open();
    auto s = hsm->pool().acquire();
    REQUIRE(s.ok());
    int checked = 0;
    for (CK_OBJECT_CLASS cls :
         {CK_OBJECT_CLASS(CKO_PRIVATE_KEY), CK_OBJECT_CLASS(CKO_SECRET_KEY)}) {
        auto handles = findObjects(*s, {cls, {}, {}});
        REQUIRE(handles.ok());
        for (CK_OBJECT_HANDLE h : *handles) {
            auto value = getAttribute(*s, h, CKA_VALUE);
            REQUIRE_FALSE(value.ok());
            CHECK(value.error().detail() == int(CKR_ATTRIBUTE_SENSITIVE));
            // Nor can it be exported in the clear with a wrap: the non-extractable ones refuse
            // any wrap at all (checked in test_image_key for the extractable image key).
            ++checked;
        }
    }
    CHECK(checked == int(keyInventory().size()));
}

TEST_CASE("key URIs follow RFC 7512") {
    auto u = KeyUri::parse(
        QStringLiteral("pkcs11:token=keyline-dev;object=keyline-issuing-ca;type=private"));
    REQUIRE(u.ok());
    CHECK(u->token == QStringLiteral("keyline-dev"));
    CHECK(u->object == QStringLiteral("keyline-issuing-ca"));
    CHECK(u->type == QStringLiteral("private"));
    auto escaped = KeyUri::parse(QStringLiteral("pkcs11:object=my%20key;id=%01%02"));
    REQUIRE(escaped.ok());
    CHECK(escaped->object == QStringLiteral("my key"));
    CHECK(escaped->id == QByteArray("\x01\x02", 2));
    CHECK(escaped->token.isEmpty()); // no token= means any token, not 32 NUL characters
    auto round = KeyUri::parse(u->toString());
    REQUIRE(round.ok());
    CHECK(round->object == u->object);
    CHECK(round->token == u->token);

    for (const char* bad :
         {"file:///etc/key", "pkcs11:token=keyline-dev", "", "pkcs11:object=%zz"}) {
        INFO(bad);
        auto r = KeyUri::parse(QString::fromLatin1(bad));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == ErrorCode::BadInput);
    }
}

TEST_CASE("parallel slots sign at once through the session pool") {
    DevTokenFixture fx;
    auto config = fx.config();
    config.maxSessions = 3;
    auto opened = Pkcs11Hsm::open(config);
    REQUIRE(opened.ok());
    auto& hsm = **opened;
    auto signer = hsm.signer(hsm.uriFor(labels::issuingCa));
    REQUIRE(signer.ok());
    std::atomic<int> good{0};
    std::atomic<int> bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 25; ++i) {
                const QByteArray digest = sha256(QByteArray::number(t * 1000 + i));
                auto sig = (*signer)->signDigest(digest);
                if (sig.ok() && verifyDigest((*signer)->publicKeyDer(), digest, *sig))
                    ++good;
                else
                    ++bad;
            }
        });
    for (auto& th : threads)
        th.join();
    CHECK(good == 150);
    CHECK(bad == 0);
    CHECK(hsm.pool().openSessions() <= 3);
}

TEST_CASE("certificate-bound signing through pkcs11-helper") {
    DevTokenFixture fx;
    auto hsm = fx.open();
    auto signer =
        hsm->certificateBoundSigner(hsm->uriFor(labels::auditSigning, QStringLiteral("cert")));
    if (!signer.ok())
        FAIL(signer.error().toString().toStdString());
    auto certDer = hsm->certificate(hsm->uriFor(labels::auditSigning, QStringLiteral("cert")));
    REQUIRE(certDer.ok());
    auto pub = hsm->publicKey(hsm->uriFor(labels::auditSigning));
    REQUIRE(pub.ok());
    CHECK((*signer)->publicKeyDer() == *pub);
    for (int i = 0; i < 5; ++i) {
        const QByteArray digest = sha256("audit export " + QByteArray::number(i));
        auto sig = (*signer)->signDigest(digest);
        REQUIRE(sig.ok());
        CHECK(verifyDigest(*pub, digest, *sig));
    }
}

TEST_CASE("the development CA chain passes openssl verify -x509_strict") {
    DevTokenFixture fx;
    const QDir out(fx.report.exportDir);
    const QString root = out.filePath(QStringLiteral("device-root-ca.pem"));
    for (const char* leaf : {"issuing-ca.pem", "audit-signing.pem"}) {
        auto r =
            test::run(QStringLiteral("openssl"),
                      {QStringLiteral("verify"), QStringLiteral("-x509_strict"),
                       QStringLiteral("-CAfile"), root, out.filePath(QString::fromLatin1(leaf))});
        INFO(r.output.toStdString());
        CHECK(r.exitCode == 0);
    }
}
