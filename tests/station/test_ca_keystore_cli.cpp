// `keyline ca issue` and `keyline keystore build|verify` in-process against the development set.

#include "cli_fixture.h"
#include "hsm/csr_maker.h"
#include "hsm/x509_sign.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace keyline;
using keyline::test::CliRun;
using keyline::test::StationFixture;

namespace {

QStringList issueArgs(const QString& csr, const QString& deviceId, const QString& out) {
    return {QStringLiteral("ca"),          QStringLiteral("issue"),
            QStringLiteral("--csr"),       csr,
            QStringLiteral("--device-id"), deviceId,
            QStringLiteral("--customer"),  QStringLiteral("acme-42"),
            QStringLiteral("--env"),       QStringLiteral("dev"),
            QStringLiteral("-o"),          out};
}

QStringList buildArgs(const QString& env, const QString& out, const QStringList& extra = {}) {
    return QStringList{QStringLiteral("keystore"),   QStringLiteral("build"),
                       QStringLiteral("--customer"), QStringLiteral("acme-42"),
                       QStringLiteral("--env"),      env,
                       QStringLiteral("--serial"),   QStringLiteral("7"),
                       QStringLiteral("-o"),         out} +
           extra;
}

QStringList verifyArgs(const QString& file, bool json = false) {
    QStringList a{QStringLiteral("keystore"), QStringLiteral("verify"), file};
    if (json)
        a << QStringLiteral("--json");
    return a;
}

} // namespace

TEST_CASE("ca issue writes a chain that verifies strictly", "[cli][ca]") {
    StationFixture st;
    st.initDev();
    auto key = test::makeEcKey();
    const QString csr = st.writeFile(
        QStringLiteral("dev-0001.csr.pem"),
        hsm::toPem(test::makeCsr(key.get(), QStringLiteral("dev-0001")), "CERTIFICATE REQUEST"));
    const QString chain = st.path(QStringLiteral("dev-0001.chain.pem"));
    const CliRun r = st.run(issueArgs(csr, QStringLiteral("dev-0001"), chain));
    INFO(r.all().toStdString());
    REQUIRE(r.code == 0);
    CHECK(r.out.contains(QStringLiteral("issued certificate for dev-0001")));
    CHECK(st.readFile(QStringLiteral("dev-0001.chain.pem")).count("BEGIN CERTIFICATE") == 2);

    const auto verify =
        test::run(QStringLiteral("openssl"),
                  {QStringLiteral("verify"), QStringLiteral("-x509_strict"),
                   QStringLiteral("-purpose"), QStringLiteral("sslclient"),
                   QStringLiteral("-CAfile"), st.exportFile(QStringLiteral("device-root-ca.pem")),
                   QStringLiteral("-untrusted"), chain, chain});
    INFO(verify.output.toStdString());
    CHECK(verify.exitCode == 0);
    CHECK(verify.output.contains(QStringLiteral(": OK")));
}

TEST_CASE("ca issue refuses a bad CSR as bad input (exit 2) before the HSM", "[cli][ca]") {
    StationFixture st;
    st.initDev();
    auto key = test::makeEcKey();
    const QString out = st.path(QStringLiteral("out.pem"));
    SECTION("subject is another device") {
        const QString csr = st.writeFile(QStringLiteral("c.der"),
                                         test::makeCsr(key.get(), QStringLiteral("dev-0001")));
        const CliRun r = st.run(issueArgs(csr, QStringLiteral("dev-0002"), out));
        CHECK(r.code == 2);
        CHECK(r.err.contains(QStringLiteral("wrong-subject")));
        CHECK(r.err.contains(QStringLiteral("dev-0002")));
    }
    SECTION("not a CSR") {
        const QString csr = st.writeFile(QStringLiteral("c.pem"), "hello");
        const CliRun r = st.run(issueArgs(csr, QStringLiteral("dev-0001"), out));
        CHECK(r.code == 2);
        CHECK(r.err.contains(QStringLiteral("malformed")));
    }
    SECTION("no proof of possession is a failed check (exit 1)") {
        auto other = test::makeEcKey();
        const QString csr =
            st.writeFile(QStringLiteral("c.der"),
                         test::makeCsr(key.get(), QStringLiteral("dev-0001"), other.get()));
        const CliRun r = st.run(issueArgs(csr, QStringLiteral("dev-0001"), out));
        CHECK(r.code == 1);
        CHECK(r.err.contains(QStringLiteral("bad-signature")));
    }
    SECTION("missing CSR file and missing options") {
        CHECK(
            st.run(issueArgs(st.path(QStringLiteral("none.pem")), QStringLiteral("d"), out)).code ==
            2);
        CHECK(st.run({QStringLiteral("ca"), QStringLiteral("issue")}).code == 2);
    }
    CHECK_FALSE(QFile::exists(out));
}

TEST_CASE("keystore build (dev) then verify PASS, text and JSON", "[cli][keystore]") {
    StationFixture st;
    st.initDev();
    const QString ks = st.path(QStringLiteral("acme-42.ks"));
    const CliRun built = st.run(buildArgs(QStringLiteral("dev"), ks));
    INFO(built.all().toStdString());
    REQUIRE(built.code == 0);

    const CliRun text = st.run(verifyArgs(ks));
    INFO(text.all().toStdString());
    CHECK(text.code == 0);
    CHECK(text.out.startsWith(QStringLiteral("PASS")));
    CHECK(text.out.contains(QStringLiteral("environment keys  passed")));

    const CliRun json = st.run(verifyArgs(ks, true));
    REQUIRE(json.code == 0);
    const QJsonObject o = QJsonDocument::fromJson(json.out.toUtf8()).object();
    CHECK(o[QStringLiteral("result")].toString() == QStringLiteral("PASS"));
    CHECK(o[QStringLiteral("customer")].toString() == QStringLiteral("acme-42"));
    CHECK(o[QStringLiteral("environment")].toString() == QStringLiteral("dev"));
    CHECK(o[QStringLiteral("serial")].toString() == QStringLiteral("7"));
    CHECK(o[QStringLiteral("entries")].toArray().size() == 3);
    CHECK(o[QStringLiteral("environment_keys")].toString() == QStringLiteral("passed"));
    CHECK_FALSE(o.contains(QStringLiteral("region")));

    // Offline with an explicit vendor key as well.
    const CliRun explicitKey = st.run(
        verifyArgs(ks) + QStringList{QStringLiteral("--vendor-key"),
                                     st.exportFile(QStringLiteral("keystore-signing.pub.pem"))});
    CHECK(explicitKey.code == 0);
    // The wrong vendor key names the signer key id region.
    const CliRun wrongKey = st.run(
        verifyArgs(ks) + QStringList{QStringLiteral("--vendor-key"),
                                     st.exportFile(QStringLiteral("dev-app-signing.pub.pem"))});
    CHECK(wrongKey.code == 1);
    CHECK(wrongKey.out.contains(QStringLiteral("region signer_key_id")));
}

TEST_CASE("keystore verify of a flipped byte: FAIL exit 1 naming the region", "[cli][keystore]") {
    StationFixture st;
    st.initDev();
    const QString ks = st.path(QStringLiteral("good.ks"));
    REQUIRE(st.run(buildArgs(QStringLiteral("dev"), ks)).code == 0);
    const QByteArray good = st.readFile(QStringLiteral("good.ks"));
    const int idLen = 7; // "acme-42"
    auto flipped = [&](qsizetype offset) {
        QByteArray bad = good;
        bad[offset] = char(bad[offset] ^ 0x01);
        return st.writeFile(QStringLiteral("bad.ks"), bad);
    };
    struct Case {
        qsizetype offset;
        const char* region;
    };
    // Offsets from docs/keystore-format.md: serial at 9+n, entry 0's key at 18+n+4, signature
    // at the end.
    for (const Case c :
         {Case{0, "magic"}, Case{9 + idLen + 7, "signature"}, Case{18 + idLen + 4 + 10, "entries"},
          Case{good.size() - 3, "signature"}}) {
        INFO("offset " << c.offset);
        const CliRun r = st.run(verifyArgs(flipped(c.offset)));
        INFO(r.all().toStdString());
        CHECK(r.code == 1);
        CHECK(r.out.startsWith(QStringLiteral("FAIL")));
        CHECK(r.out.contains(QStringLiteral("region ") + QLatin1String(c.region)));

        const CliRun json = st.run(verifyArgs(flipped(c.offset), true));
        CHECK(json.code == 1);
        const QJsonObject o = QJsonDocument::fromJson(json.out.toUtf8()).object();
        CHECK(o[QStringLiteral("result")].toString() == QStringLiteral("FAIL"));
        CHECK(o[QStringLiteral("region")].toString() == QLatin1String(c.region));
    }
    CHECK(st.run(verifyArgs(st.path(QStringLiteral("none.ks")))).code == 2);
}

TEST_CASE("keystore build: production refuses development keys", "[cli][keystore]") {
    StationFixture st;
    st.initDev();
    const QString out = st.path(QStringLiteral("prod.ks"));
    const QStringList devKeys{
        QStringLiteral("--app-key"),     st.exportFile(QStringLiteral("dev-app-signing.pub.pem")),
        QStringLiteral("--update-key"),  st.exportFile(QStringLiteral("dev-update-auth.pub.pem")),
        QStringLiteral("--backend-key"), st.exportFile(QStringLiteral("dev-backend-e2e.pub.pem"))};
    const CliRun r = st.run(buildArgs(QStringLiteral("prod"), out, devKeys));
    CHECK(r.code == 1);
    CHECK(r.err.contains(QStringLiteral("common development")));
    CHECK_FALSE(QFile::exists(out));

    // The customer's own keys are accepted.
    QStringList customer;
    for (const char* opt : {"--app-key", "--update-key", "--backend-key"}) {
        auto key = test::makeEcKey();
        unsigned char* der = nullptr;
        const int len = i2d_PUBKEY(key.get(), &der);
        const QByteArray spki(reinterpret_cast<const char*>(der), len);
        OPENSSL_free(der);
        customer << QLatin1String(opt)
                 << st.writeFile(QLatin1String(opt).mid(2) + QStringLiteral(".pem"),
                                 hsm::toPem(spki, "PUBLIC KEY"));
    }
    const CliRun ok = st.run(buildArgs(QStringLiteral("prod"), out, customer));
    INFO(ok.all().toStdString());
    CHECK(ok.code == 0);
    CHECK(st.run(verifyArgs(out)).code == 0);

    // Usage: prod without keys, dev with keys.
    CHECK(st.run(buildArgs(QStringLiteral("prod"), out)).code == 2);
    CHECK(st.run(buildArgs(QStringLiteral("dev"), out, customer)).code == 2);
    CHECK(st.run(buildArgs(QStringLiteral("staging"), out)).code == 2);
}
