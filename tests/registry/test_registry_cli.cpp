// keyline-registry as an operator meets it: help, usage errors, SIGTERM, restart with its
// database, --station-ca, curl as a client nobody here wrote, and what clients without a
// certificate see.
#include "registry_fixture.h"

#include <QSslConfiguration>
#include <QSslSocket>
#include <QStandardPaths>
#include <catch2/catch.hpp>

namespace {

const QString kAcme = QStringLiteral("/v1/customers/acme/devices");

struct Curl {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

// curl with the station's certificate (or none), -w appending the HTTP status on its own line.
Curl curl(const TestPki& pki, const QString& identity, const QStringList& arguments) {
    QStringList args{QStringLiteral("-sS"), QStringLiteral("--cacert"), pki.rootCa(),
                     QStringLiteral("-w"), QStringLiteral("\n%{http_code}")};
    if (!identity.isEmpty())
        args += {QStringLiteral("--cert"), pki.cert(identity), QStringLiteral("--key"),
                 pki.key(identity)};
    QProcess p;
    p.start(QStringLiteral("curl"), args + arguments);
    REQUIRE(p.waitForFinished(20000));
    return {p.exitCode(), p.readAllStandardOutput(), p.readAllStandardError()};
}

QByteArray statusOf(const Curl& c) {
    return c.out.mid(c.out.lastIndexOf('\n') + 1);
}

} // namespace

TEST_CASE("help teaches with an example and bad usage exits 2 with one line", "[registry][cli]") {
    QProcess help;
    help.start(registryPath(), {QStringLiteral("--help")});
    REQUIRE(help.waitForFinished(10000));
    CHECK(help.exitCode() == 0);
    const QByteArray text = help.readAllStandardOutput();
    for (const char* word :
         {"--listen", "--station-acl", "--device-ca", "--station-ca", "--db", "--ready-file",
          "station-01: acme", "Example", "curl", "bootstrap", "OU=station"})
        CHECK(text.contains(word));

    TestPki pki;
    const QStringList base{QStringLiteral("--cert"),        pki.cert(QStringLiteral("server")),
                           QStringLiteral("--key"),         pki.key(QStringLiteral("server")),
                           QStringLiteral("--device-ca"),   pki.deviceCa(),
                           QStringLiteral("--station-acl"), pki.rootCa(), // not an ACL
                           QStringLiteral("--db"),          pki.path(QStringLiteral("r.db"))};
    for (const QStringList& args :
         {QStringList{},
          base, // no --listen
          base + QStringList{QStringLiteral("--listen"), QStringLiteral("nowhere")},
          base + QStringList{QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")},
          QStringList{QStringLiteral("--bogus")}}) {
        QProcess p;
        p.start(registryPath(), args);
        REQUIRE(p.waitForFinished(10000));
        INFO(args.join(QLatin1Char(' ')).toStdString());
        CHECK(p.exitCode() == 2);
        const QByteArray err = p.readAllStandardError();
        CHECK(err.startsWith("keyline-registry: "));
        CHECK(err.count('\n') == 2); // the reason, then "Try keyline-registry --help."
    }
}

TEST_CASE("SIGTERM stops cleanly and the records survive a restart", "[registry][cli]") {
    TestPki pki;
    const QString readyFile = pki.path(QStringLiteral("ready"));
    {
        RegistryProcess registry(pki, {QStringLiteral("--ready-file"), readyFile});
        QFile ready(readyFile);
        REQUIRE(ready.open(QIODevice::ReadOnly));
        CHECK(ready.readAll().trimmed() == registry.url.toLatin1());
        HttpsClient station{pki, registry.url, QStringLiteral("station")};
        REQUIRE(
            station
                .post(kAcme, pki.registration(QStringLiteral("dev1"), QStringLiteral("dev-0001"),
                                              QStringLiteral("acme")))
                .status == 201);
        CHECK(registry.stop() == 0);
        CHECK(registry.process.readAllStandardOutput().contains("stopped"));
    }
    RegistryProcess again(pki);
    HttpsClient station{pki, again.url, QStringLiteral("station")};
    CHECK(station.get(kAcme + QStringLiteral("/dev-0001")).status == 200);
    CHECK(again.stop() == 0);
}

TEST_CASE("curl registers and reads and lists with the station certificate", "[registry][curl]") {
    REQUIRE(!QStandardPaths::findExecutable(QStringLiteral("curl")).isEmpty());
    TestPki pki;
    RegistryProcess registry(pki);
    QFile body(pki.path(QStringLiteral("body.json")));
    REQUIRE(body.open(QIODevice::WriteOnly));
    body.write(pki.registration(QStringLiteral("dev1"), QStringLiteral("dev-0001"),
                                QStringLiteral("acme")));
    body.close();
    const QStringList post{QStringLiteral("-H"), QStringLiteral("Content-Type: application/json"),
                           QStringLiteral("--data-binary"), QLatin1Char('@') + body.fileName(),
                           registry.url + kAcme};
    const Curl created = curl(pki, QStringLiteral("station"), post);
    INFO(created.err.toStdString());
    CHECK(created.exitCode == 0);
    CHECK(statusOf(created) == "201");
    CHECK(statusOf(curl(pki, QStringLiteral("station"), post)) == "200");
    const Curl list = curl(pki, QStringLiteral("station"), {registry.url + kAcme});
    CHECK(statusOf(list) == "200");
    CHECK(list.out.contains("\"dev-0001\""));
    // The device bootstraps itself with its chain (leaf + issuing CA) in one PEM file.
    const Curl boot = curl(pki, QStringLiteral("dev1"),
                           {QStringLiteral("-X"), QStringLiteral("POST"),
                            registry.url + kAcme + QStringLiteral("/dev-0001/bootstrap")});
    CHECK(statusOf(boot) == "200");
    CHECK(boot.out.contains("\"telemetryIntervalSeconds\""));
}

TEST_CASE("no client certificate: the TLS session is refused for curl and for Qt",
          "[registry][mtls][auth]") {
    TestPki pki;
    RegistryProcess registry(pki);

    // curl: with TLS 1.3 the server refuses the certificate after curl's handshake finished,
    // so curl fails reading (52/56); with TLS 1.2 the handshake itself fails (35). Never HTTP.
    const Curl tls13 = curl(pki, {}, {registry.url + kAcme});
    CHECK(tls13.exitCode != 0);
    CHECK(statusOf(tls13) == "000");
    const Curl tls12 =
        curl(pki, {}, {QStringLiteral("--tls-max"), QStringLiteral("1.2"), registry.url + kAcme});
    CHECK(tls12.exitCode == 35);
    CHECK(statusOf(tls12) == "000");

    // QNetworkAccessManager: an error and no HTTP status.
    const HttpsReply qt = HttpsClient{pki, registry.url, {}}.get(kAcme);
    INFO(qt.errorString.toStdString());
    CHECK(qt.status == 0);
    CHECK(qt.error != QNetworkReply::NoError);

    // QSslSocket with TLS 1.2: the handshake fails.
    const QUrl url(registry.url);
    QSslSocket socket;
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setCaCertificates(QSslCertificate::fromPath(pki.rootCa()));
    tls.setProtocol(QSsl::TlsV1_2);
    socket.setSslConfiguration(tls);
    socket.connectToHostEncrypted(url.host(), static_cast<quint16>(url.port()));
    CHECK_FALSE(socket.waitForEncrypted(10000));
    INFO(socket.errorString().toStdString());
    CHECK(socket.error() != QAbstractSocket::UnknownSocketError);

    // The registry still serves clients that do present one.
    CHECK(HttpsClient{pki, registry.url, QStringLiteral("station")}.get(kAcme).status == 200);
}

TEST_CASE("given a station CA only that CA makes stations", "[registry][mtls][auth]") {
    TestPki pki;
    RegistryProcess registry(pki, {QStringLiteral("--station-ca"), pki.stationCa()});
    const HttpsReply fromStationCa = HttpsClient{pki, registry.url, QStringLiteral("station2")}.get(
        QStringLiteral("/v1/whoami"));
    CHECK(fromStationCa.status == 200);
    CHECK(fromStationCa.json.value(QStringLiteral("role")).toString() == QLatin1String("station"));
    CHECK(fromStationCa.json.value(QStringLiteral("name")).toString() ==
          QLatin1String("station-02"));
    CHECK(HttpsClient{pki, registry.url, QStringLiteral("station2")}.get(kAcme).status == 200);
    // OU=station under the device root no longer makes a station.
    CHECK(HttpsClient{pki, registry.url, QStringLiteral("station")}.get(kAcme).status == 403);
    // Devices still chain to the device root.
    const HttpsReply device =
        HttpsClient{pki, registry.url, QStringLiteral("dev1")}.get(QStringLiteral("/v1/whoami"));
    CHECK(device.json.value(QStringLiteral("role")).toString() == QLatin1String("device"));
}
