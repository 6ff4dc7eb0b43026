// The image-key ceremony through the command line on an empty SoftHSM2 token standing in for a
// line HSM; OpenSSL plays the product's key-management HSM wrapping a known, TEST-ONLY key.

#include "cli_fixture.h"
#include "hsm/image_key_helpers.h"
#include "hsm/key_inventory.h"
#include "hsm/key_objects.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace keyline;
using keyline::test::CliRun;
using keyline::test::StationFixture;

namespace {

const QByteArray kToken = QByteArrayLiteral("line-7");

void makeEmptyToken(const StationFixture& st) {
    auto conf = hsm::writeSoftHsmConfig(st.dataDir());
    REQUIRE(conf.ok());
    qputenv("SOFTHSM2_CONF", QFile::encodeName(*conf));
    auto made = hsm::ensureToken(test::kSoftHsmModule, QString::fromLatin1(kToken),
                                 QByteArrayLiteral("so-pin-for-tests"), test::kTestPin);
    if (!made.ok())
        FAIL(made.error().toString().toStdString());
}

QStringList step(const char* name, const QStringList& more = {}) {
    return QStringList{QStringLiteral("hsm"), QStringLiteral("ceremony"), QLatin1String(name)} +
           more;
}

QJsonObject keyEntry(const StationFixture& st, const QString& label) {
    const CliRun r =
        st.run({QStringLiteral("hsm"), QStringLiteral("keys"), QStringLiteral("--json")});
    INFO(r.all().toStdString());
    REQUIRE(r.code == 0);
    for (const auto& v :
         QJsonDocument::fromJson(r.out.toUtf8()).object()[QStringLiteral("keys")].toArray())
        if (v.toObject()[QStringLiteral("label")].toString() == label)
            return v.toObject();
    return {};
}

// No output may hold the key or the wrapped key, in any common spelling.
void checkNoSecret(const CliRun& r, const QByteArray& key, const QByteArray& wrapped) {
    const QString all = r.all();
    for (const QByteArray& secret : {key, wrapped}) {
        CHECK_FALSE(all.contains(QString::fromLatin1(secret.toHex()), Qt::CaseInsensitive));
        CHECK_FALSE(all.contains(QString::fromLatin1(secret.toBase64())));
        CHECK_FALSE(all.contains(QString::fromLatin1(secret.left(8).toHex()), Qt::CaseInsensitive));
    }
}

} // namespace

TEST_CASE("ceremony: transport key and image-key import", "[cli][ceremony][image-key]") {
    StationFixture st(test::kTestPin, "token = " + kToken + "\n");
    makeEmptyToken(st);
    const QByteArray known = test::knownImageKey();
    const QString kcvHex = QString::fromLatin1(test::opensslKcv(known).toHex());

    const QString pubPath = st.path(QStringLiteral("transport.pub.pem"));
    const CliRun made = st.run(step("transport-key", {QStringLiteral("-o"), pubPath}));
    INFO(made.all().toStdString());
    REQUIRE(made.code == 0);
    CHECK(made.out.contains(QStringLiteral("generated keyline-transport-key")));
    const QByteArray pem = st.readFile(QStringLiteral("transport.pub.pem"));
    CHECK(pem.startsWith("-----BEGIN PUBLIC KEY"));
    const QJsonObject transport = keyEntry(st, hsm::labels::transportKey);
    CHECK(transport[QStringLiteral("type")].toString() == QStringLiteral("RSA-3072"));
    CHECK(transport[QStringLiteral("sensitive")].toBool());
    CHECK_FALSE(transport[QStringLiteral("extractable")].toBool());
    CHECK(transport[QStringLiteral("policy")].toString() == QStringLiteral("ok"));

    // The rule is OAEP SHA-256; SoftHSM2 2.6 cannot, and says what to do instead.
    const QByteArray wrapped256 = test::oaepWrap(pem, known, true);
    const QString w256 = st.writeFile(QStringLiteral("image-key.sha256.bin"), wrapped256);
    const CliRun tried = st.run(step("import-image-key", {QStringLiteral("--wrapped"), w256}));
    checkNoSecret(tried, known, wrapped256);
    QByteArray wrapped = wrapped256;
    QStringList oaep;
    if (tried.code != 0) {
        INFO(tried.all().toStdString());
        CHECK(tried.code == 3);
        CHECK(tried.err.contains(QStringLiteral("--oaep sha1")));
        CHECK(keyEntry(st, hsm::labels::imageKey).isEmpty());
        wrapped = test::oaepWrap(pem, known, false);
        oaep = {QStringLiteral("--oaep"), QStringLiteral("sha1")};

        const QString w1 = st.writeFile(QStringLiteral("image-key.bin"), wrapped);
        // A wrong expected KCV: refused, the imported key destroyed again.
        const CliRun wrong =
            st.run(step("import-image-key",
                        QStringList{QStringLiteral("--wrapped"), w1, QStringLiteral("--expect-kcv"),
                                    QStringLiteral("00:00:00")} +
                            oaep));
        INFO(wrong.all().toStdString());
        CHECK(wrong.code == 1);
        CHECK(wrong.err.contains(QStringLiteral("destroyed")));
        CHECK(wrong.err.contains(kcvHex)); // the KCV is public; the key is not
        checkNoSecret(wrong, known, wrapped);
        CHECK(keyEntry(st, hsm::labels::imageKey).isEmpty());

        // Garbage: a clear error, exit 2, nothing created.
        const QString junk = st.writeFile(QStringLiteral("junk.bin"), "not a wrapped key\n");
        const CliRun bad =
            st.run(step("import-image-key", QStringList{QStringLiteral("--wrapped"), junk} + oaep));
        CHECK(bad.code == 2);
        CHECK(bad.err.contains(QStringLiteral("384 bytes")));
        const QString noise = st.writeFile(QStringLiteral("noise.bin"), QByteArray(384, '\x42'));
        const CliRun bad2 = st.run(
            step("import-image-key", QStringList{QStringLiteral("--wrapped"), noise} + oaep));
        INFO(bad2.all().toStdString());
        CHECK(bad2.code == 2);
        CHECK(bad2.err.contains(QStringLiteral("does not unwrap")));
        CHECK(st.run(step("import-image-key",
                          {QStringLiteral("--wrapped"), st.path(QStringLiteral("missing.bin"))}))
                  .code == 2);
        CHECK(st.run(step("import-image-key",
                          {QStringLiteral("--wrapped"), w1, QStringLiteral("--expect-kcv"),
                           QStringLiteral("xyz")}))
                  .code == 2);
        CHECK(keyEntry(st, hsm::labels::imageKey).isEmpty());

        const CliRun imported = st.run(
            step("import-image-key", QStringList{QStringLiteral("--wrapped"), w1,
                                                 QStringLiteral("--expect-kcv"), kcvHex.toUpper()} +
                                         oaep));
        INFO(imported.all().toStdString());
        REQUIRE(imported.code == 0);
        CHECK(imported.out.contains(QStringLiteral("KCV ") + kcvHex));
        checkNoSecret(imported, known, wrapped);
    } else {
        CHECK(tried.out.contains(QStringLiteral("KCV ") + kcvHex));
    }

    // The inventory's attributes, and the value stays in the HSM.
    const QJsonObject image = keyEntry(st, hsm::labels::imageKey);
    CHECK(image[QStringLiteral("type")].toString() == QStringLiteral("AES-256"));
    CHECK(image[QStringLiteral("sensitive")].toBool());
    CHECK(image[QStringLiteral("extractable")].toBool());
    CHECK(image[QStringLiteral("policy")].toString() == QStringLiteral("ok"));
    CHECK(keyEntry(st, hsm::labels::transportKey).isEmpty()); // destroyed after the import
    {
        hsm::HsmConfig c;
        c.modulePath = test::kSoftHsmModule;
        c.tokenLabel = QString::fromLatin1(kToken);
        c.pin = hsm::PinSource::fixed(test::kTestPin);
        c.softhsmConfig = QDir(st.dataDir()).filePath(QStringLiteral("softhsm/softhsm2.conf"));
        auto h = hsm::Pkcs11Hsm::open(c);
        if (!h.ok())
            FAIL(h.error().toString().toStdString());
        auto s = (*h)->pool().acquire();
        REQUIRE(s.ok());
        auto key = hsm::findOne(*s, {CKO_SECRET_KEY, hsm::labels::imageKey, {}});
        REQUIRE(key.ok());
        REQUIRE(key->has_value());
        CHECK(hsm::getBool(*s, **key, CKA_SENSITIVE).valueOr(false));
        CHECK_FALSE(hsm::getAttribute(*s, **key, CKA_VALUE).ok());
        CHECK(hsm::keyCheckValue(*s, **key).valueOr({}) == test::opensslKcv(known));
    }

    // A second import is refused (exit 1), and so is a new transport key.
    const QString again = st.writeFile(QStringLiteral("again.bin"), wrapped);
    const CliRun second =
        st.run(step("import-image-key", QStringList{QStringLiteral("--wrapped"), again} + oaep));
    CHECK(second.code == 1);
    CHECK(second.err.contains(QStringLiteral("already on token")));
    CHECK(st.run(step("transport-key", {QStringLiteral("-o"), pubPath})).code == 1);

    // Usage errors.
    CHECK(st.run(step("transport-key")).code == 2);
    CHECK(st.run(step("import-image-key")).code == 2);
    CHECK(
        st.run(step("import-image-key", {QStringLiteral("--key"), QStringLiteral("audit")})).code ==
        2);
    const CliRun help = st.run({QStringLiteral("hsm"), QStringLiteral("--help")});
    CHECK(help.out.contains(QStringLiteral("import-image-key --wrapped")));
}
