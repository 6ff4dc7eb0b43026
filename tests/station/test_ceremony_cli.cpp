// The production key ceremony through the command line, on an empty SoftHSM2 token standing in
// for a production HSM; a test root CA made with the openssl tool plays the offline root.

#include "cli_fixture.h"

using namespace keyline;
using keyline::test::CliRun;
using keyline::test::StationFixture;

namespace {

const QByteArray kProdToken = QByteArrayLiteral("line-7");

// An empty token next to where init-dev would put the dev one: nothing of the dev set on it.
void makeEmptyToken(const StationFixture& st) {
    auto conf = hsm::writeSoftHsmConfig(st.dataDir());
    REQUIRE(conf.ok());
    qputenv("SOFTHSM2_CONF", QFile::encodeName(*conf));
    auto made = hsm::ensureToken(test::kSoftHsmModule, QString::fromLatin1(kProdToken),
                                 QByteArrayLiteral("so-pin-for-tests"), test::kTestPin);
    if (!made.ok())
        FAIL(made.error().toString().toStdString());
}

void openssl(const QStringList& args) {
    const auto r = test::run(QStringLiteral("openssl"), args);
    INFO(r.output.toStdString());
    REQUIRE(r.exitCode == 0);
}

QStringList ceremony(const char* step, const char* key, const QStringList& more) {
    return QStringList{QStringLiteral("hsm"), QStringLiteral("ceremony"), QLatin1String(step),
                       QStringLiteral("--key"), QLatin1String(key)} +
           more;
}

} // namespace

TEST_CASE("ceremony: generate in the HSM, root signs the CSR, import, issue", "[cli][ceremony]") {
    StationFixture st(test::kTestPin, "token = " + kProdToken + "\n");
    makeEmptyToken(st);

    // 1. Issuing CA key and CSR.
    const QString csr = st.path(QStringLiteral("issuing-ca.csr.pem"));
    const CliRun gen = st.run(ceremony("generate", "issuing-ca", {QStringLiteral("-o"), csr}));
    INFO(gen.all().toStdString());
    REQUIRE(gen.code == 0);
    CHECK(gen.out.contains(QStringLiteral("generated keyline-issuing-ca")));
    openssl({QStringLiteral("req"), QStringLiteral("-in"), csr, QStringLiteral("-noout"),
             QStringLiteral("-verify")});

    // A second generate never replaces the key; --existing writes a new CSR for it.
    const CliRun again = st.run(ceremony("generate", "issuing-ca", {QStringLiteral("-o"), csr}));
    CHECK(again.code == 1);
    CHECK(again.err.contains(QStringLiteral("--existing")));
    CHECK(st.run(ceremony("generate", "issuing-ca",
                          {QStringLiteral("-o"), csr, QStringLiteral("--existing")}))
              .code == 0);

    // 2. The offline root (a test CA) issues the CA certificate.
    const QString rootKey = st.path(QStringLiteral("root.key"));
    const QString root = st.path(QStringLiteral("root.pem"));
    openssl({QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"),
             QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
             QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-nodes"),
             QStringLiteral("-keyout"), rootKey, QStringLiteral("-subj"),
             QStringLiteral("/O=Keyline/CN=Test Offline Root"), QStringLiteral("-days"),
             QStringLiteral("30"), QStringLiteral("-addext"),
             QStringLiteral("basicConstraints=critical,CA:TRUE"), QStringLiteral("-addext"),
             QStringLiteral("keyUsage=critical,keyCertSign,cRLSign"), QStringLiteral("-out"),
             root});
    const QString ext =
        st.writeFile(QStringLiteral("ca.ext"), "basicConstraints=critical,CA:TRUE,pathlen:0\n"
                                               "keyUsage=critical,keyCertSign,cRLSign\n"
                                               "subjectKeyIdentifier=hash\n"
                                               "authorityKeyIdentifier=keyid:always\n");
    const QString caCert = st.path(QStringLiteral("issuing-ca.pem"));
    openssl({QStringLiteral("x509"), QStringLiteral("-req"), QStringLiteral("-in"), csr,
             QStringLiteral("-CA"), root, QStringLiteral("-CAkey"), rootKey,
             QStringLiteral("-days"), QStringLiteral("20"), QStringLiteral("-extfile"), ext,
             QStringLiteral("-out"), caCert});

    // 3. Import: the root first, then the issuing CA certificate (checked against both).
    const CliRun importRoot =
        st.run(ceremony("import-cert", "device-root-ca", {QStringLiteral("--cert"), root}));
    INFO(importRoot.all().toStdString());
    REQUIRE(importRoot.code == 0);

    // A certificate for another key is refused, and nothing is stored.
    const QString otherCsr = st.path(QStringLiteral("other.csr.pem"));
    const QString otherKey = st.path(QStringLiteral("other.key"));
    openssl({QStringLiteral("req"), QStringLiteral("-new"), QStringLiteral("-newkey"),
             QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
             QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-nodes"),
             QStringLiteral("-keyout"), otherKey, QStringLiteral("-subj"),
             QStringLiteral("/CN=impostor"), QStringLiteral("-out"), otherCsr});
    const QString otherCert = st.path(QStringLiteral("other.pem"));
    openssl({QStringLiteral("x509"), QStringLiteral("-req"), QStringLiteral("-in"), otherCsr,
             QStringLiteral("-CA"), root, QStringLiteral("-CAkey"), rootKey,
             QStringLiteral("-days"), QStringLiteral("20"), QStringLiteral("-extfile"), ext,
             QStringLiteral("-out"), otherCert});
    const CliRun wrong =
        st.run(ceremony("import-cert", "issuing-ca", {QStringLiteral("--cert"), otherCert}));
    CHECK(wrong.code == 2);
    CHECK(wrong.err.contains(QStringLiteral("not the key")));

    const CliRun imported =
        st.run(ceremony("import-cert", "issuing-ca", {QStringLiteral("--cert"), caCert}));
    INFO(imported.all().toStdString());
    REQUIRE(imported.code == 0);
    CHECK(imported.out.startsWith(QStringLiteral("imported")));
    const CliRun twice =
        st.run(ceremony("import-cert", "issuing-ca", {QStringLiteral("--cert"), caCert}));
    CHECK(twice.code == 0);
    CHECK(twice.out.startsWith(QStringLiteral("already imported")));

    // The key's attributes are the policy's.
    const CliRun keys = st.run({QStringLiteral("hsm"), QStringLiteral("keys")});
    INFO(keys.all().toStdString());
    CHECK(keys.code == 0);
    CHECK(keys.out.contains(QStringLiteral("keyline-issuing-ca")));

    // 4. The imported CA issues device certificates that chain to the offline root.
    const QString deviceCsr = st.path(QStringLiteral("d.csr.pem"));
    const QString deviceKey = st.path(QStringLiteral("d.key"));
    openssl({QStringLiteral("req"), QStringLiteral("-new"), QStringLiteral("-newkey"),
             QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
             QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-nodes"),
             QStringLiteral("-keyout"), deviceKey, QStringLiteral("-subj"),
             QStringLiteral("/CN=prod-0001"), QStringLiteral("-out"), deviceCsr});
    const QString chain = st.path(QStringLiteral("prod-0001.pem"));
    const CliRun issued =
        st.run({QStringLiteral("ca"), QStringLiteral("issue"), QStringLiteral("--csr"), deviceCsr,
                QStringLiteral("--device-id"), QStringLiteral("prod-0001"),
                QStringLiteral("--customer"), QStringLiteral("acme-42"), QStringLiteral("--env"),
                QStringLiteral("prod"), QStringLiteral("-o"), chain});
    INFO(issued.all().toStdString());
    REQUIRE(issued.code == 0);
    openssl({QStringLiteral("verify"), QStringLiteral("-x509_strict"), QStringLiteral("-CAfile"),
             root, QStringLiteral("-untrusted"), chain, chain});
}

TEST_CASE("ceremony: keystore signing key exports its public key, bad requests are refused",
          "[cli][ceremony]") {
    StationFixture st(test::kTestPin, "token = " + kProdToken + "\n");
    makeEmptyToken(st);
    const QString pub = st.path(QStringLiteral("keystore-signing.pub.pem"));
    const CliRun gen = st.run(ceremony(
        "generate", "keystore-signing",
        {QStringLiteral("-o"), st.path(QStringLiteral("k.csr")), QStringLiteral("--public-key-out"),
         pub, QStringLiteral("--subject"), QStringLiteral("O=Keyline,CN=Keystore Signing 2026")}));
    INFO(gen.all().toStdString());
    REQUIRE(gen.code == 0);
    CHECK(st.readFile(QStringLiteral("keystore-signing.pub.pem"))
              .startsWith("-----BEGIN PUBLIC KEY"));
    // It has no certificate to import.
    CHECK(
        st.run(ceremony("import-cert", "keystore-signing", {QStringLiteral("--cert"), pub})).code ==
        2);
    // A bad subject is refused before anything is generated.
    CHECK(st.run(ceremony("generate", "audit",
                          {QStringLiteral("-o"), st.path(QStringLiteral("a.csr")),
                           QStringLiteral("--subject"), QStringLiteral("O=Keyline")}))
              .code == 2);
    // The root is never generated on a station.
    CHECK(st.run(ceremony("generate", "device-root-ca",
                          {QStringLiteral("-o"), st.path(QStringLiteral("r.csr"))}))
              .code == 2);
}
