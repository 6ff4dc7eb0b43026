// `keyline package build|verify|sign-app` in-process against the development set in a temp dir
// (SoftHSM2): the OS is sealed with the image key inside the HSM and checked through it.

#include "common/ossl_ptr.h"
#include "station/cli_fixture.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

using namespace keyline;
using keyline::test::CliRun;
using keyline::test::StationFixture;

namespace {

QString tree() {
    return QStringLiteral(KEYLINE_TEST_TREE);
}

QStringList buildArgs(const QString& app, const QString& ks, const QString& env,
                      const QString& out) {
    return {QStringLiteral("package"),      QStringLiteral("build"),
            QStringLiteral("--tree"),       tree(),
            QStringLiteral("--os-version"), QStringLiteral("12.5.1"),
            QStringLiteral("--app"),        app,
            QStringLiteral("--keystore"),   ks,
            QStringLiteral("--env"),        env,
            QStringLiteral("-o"),           out};
}

// A customer key pair as PEM files (private, public), as a customer would make with openssl.
std::pair<QByteArray, QByteArray> customerKey() {
    OsslPtr<EVP_PKEY, EVP_PKEY_free> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    OsslPtr<BIO, BIO_free> priv(BIO_new(BIO_s_mem())), pub(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    PEM_write_bio_PUBKEY(pub.get(), key.get());
    auto text = [](BIO* b) {
        char* data = nullptr;
        const long n = BIO_get_mem_data(b, &data);
        return QByteArray(data, int(n));
    };
    return {text(priv.get()), text(pub.get())};
}

void require(const CliRun& r, int code) {
    INFO(r.all().toStdString());
    REQUIRE(r.code == code);
}

} // namespace

TEST_CASE("package build and verify, development", "[cli][package]") {
    StationFixture st;
    st.initDev();
    const QString ks = st.path(QStringLiteral("acme-dev.ks"));
    require(
        st.run({QStringLiteral("keystore"), QStringLiteral("build"), QStringLiteral("--customer"),
                QStringLiteral("acme-42"), QStringLiteral("--env"), QStringLiteral("dev"),
                QStringLiteral("--serial"), QStringLiteral("1"), QStringLiteral("-o"), ks}),
        0);
    const QString pkg = st.path(QStringLiteral("acme-dev.klpk"));
    const QString app = QDir(tree()).filePath(QStringLiteral("app"));
    const CliRun built = st.run(buildArgs(app, ks, QStringLiteral("dev"), pkg));
    require(built, 0);
    CHECK(built.out.contains(QStringLiteral("built dev package for acme-42")));
    CHECK(built.out.contains(QStringLiteral("kl-reference-wearable 1.0.0")));

    const QStringList verify{QStringLiteral("package"), QStringLiteral("verify"), pkg,
                             QStringLiteral("--keystore"), ks};
    const CliRun ok = st.run(verify);
    require(ok, 0);
    CHECK(ok.out.startsWith(QStringLiteral("PASS  package")));
    CHECK(ok.out.contains(QStringLiteral("os                 PASS")));
    CHECK(ok.out.contains(QStringLiteral("manifest-signature PASS")));
    CHECK(ok.out.contains(QStringLiteral("radio-fw")));

    // A changed OS byte: the HSM's tag check refuses it.
    QByteArray bytes = st.readFile(QStringLiteral("acme-dev.klpk"));
    bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 0x20);
    st.writeFile(QStringLiteral("acme-dev.klpk"), bytes);
    const CliRun bad = st.run(verify);
    require(bad, 1);
    CHECK(bad.out.contains(QStringLiteral("FAIL  package")));
    CHECK(bad.out.contains(QStringLiteral("region os-tag")));
    st.writeFile(QStringLiteral("acme-dev.klpk"), bytes.left(100));
    const CliRun cut = st.run(verify);
    require(cut, 1);
    CHECK(cut.out.contains(QStringLiteral("region length")));

    // The keystore's environment decides; --env must agree.
    require(st.run(buildArgs(app, ks, QStringLiteral("prod"), pkg)), 1);
    require(st.run({QStringLiteral("package"), QStringLiteral("build"), QStringLiteral("--tree"),
                    tree()}),
            2);
}

TEST_CASE("package build, production: the customer signs the application", "[cli][package]") {
    StationFixture st;
    st.initDev();
    const auto [appPriv, appPub] = customerKey();
    const QString appKey = st.writeFile(QStringLiteral("app.key.pem"), appPriv);
    QStringList keyArgs;
    int i = 0;
    for (const char* opt : {"--app-key", "--update-key", "--backend-key"}) {
        const QByteArray pub = i == 0 ? appPub : customerKey().second;
        keyArgs << QLatin1String(opt) << st.writeFile(QStringLiteral("k%1.pem").arg(i++), pub);
    }
    const QString ks = st.path(QStringLiteral("acme-prod.ks"));
    require(st.run(QStringList{QStringLiteral("keystore"), QStringLiteral("build"),
                               QStringLiteral("--customer"), QStringLiteral("acme-42"),
                               QStringLiteral("--env"), QStringLiteral("prod"),
                               QStringLiteral("--serial"), QStringLiteral("2"),
                               QStringLiteral("-o"), ks} +
                   keyArgs),
            0);
    const QString app = QDir(tree()).filePath(QStringLiteral("app"));
    auto signApp = [&](const QString& key, const QString& out) {
        return st.run(
            {QStringLiteral("package"), QStringLiteral("sign-app"), QStringLiteral("--app"), app,
             QStringLiteral("--key"), key, QStringLiteral("--customer"), QStringLiteral("acme-42"),
             QStringLiteral("--env"), QStringLiteral("prod"), QStringLiteral("--app-version"),
             QStringLiteral("2.0.1"), QStringLiteral("--counter"), QStringLiteral("4"),
             QStringLiteral("-o"), out});
    };
    const QString signedApp = st.path(QStringLiteral("acme.klsa"));
    const CliRun signedRun = signApp(appKey, signedApp);
    require(signedRun, 0);
    CHECK_FALSE(signedRun.all().contains(QLatin1String("PRIVATE")));

    const QString pkg = st.path(QStringLiteral("acme-prod.klpk"));
    require(st.run(buildArgs(signedApp, ks, QStringLiteral("prod"), pkg)), 0);
    const CliRun ok = st.run({QStringLiteral("package"), QStringLiteral("verify"), pkg,
                              QStringLiteral("--keystore"), ks});
    require(ok, 0);
    CHECK(ok.out.contains(QStringLiteral("manifest-signature absent")));
    CHECK(ok.out.contains(QStringLiteral("2.0.1, counter 4")));

    // An application signed by a key that is not the keystore's: refused before building.
    const QString otherKey = st.writeFile(QStringLiteral("other.key.pem"), customerKey().first);
    const QString forged = st.path(QStringLiteral("forged.klsa"));
    require(signApp(otherKey, forged), 0);
    const CliRun refused = st.run(buildArgs(forged, ks, QStringLiteral("prod"), pkg));
    require(refused, 1);
    CHECK(refused.err.contains(QStringLiteral("app-signature")));
    // In production the station never signs: a directory is refused.
    require(st.run(buildArgs(app, ks, QStringLiteral("prod"), pkg)), 2);
}

TEST_CASE("package --help teaches with examples", "[cli][package]") {
    StationFixture st;
    const CliRun r = st.run({QStringLiteral("package"), QStringLiteral("--help")});
    require(r, 0);
    CHECK(r.out.contains(QStringLiteral("Examples:")));
    CHECK(r.out.contains(QStringLiteral("sign-app")));
    require(st.run({QStringLiteral("package"), QStringLiteral("frobnicate")}), 2);
}
