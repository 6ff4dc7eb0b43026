// The whole onboarding on a development line: `keyline run` provisions devices and registers
// them in keyline-registry over mutual TLS with the station key in the HSM (pkcs11-helper's
// OpenSSL key), the back-end being down during a run loses nothing (`keyline registry sync`
// delivers every registration exactly once later), and each virtual wearable bootstraps itself
// with its own key and certificate.
#include "fake_backend.h"
#include "run_process.h"

#include <QJsonArray>
#include <QSslCertificate>
#include <QTcpServer>
#include <QUrl>

using namespace keyline;
using keyline::test::buildPath;
using keyline::test::CliRun;
using keyline::test::LineFixture;
using keyline::test::RunProcess;
using keyline::test::SimProcess;

namespace {

// keyline-registry with the development PKI that `keyline hsm init-dev` exported: the
// registry-dev server certificate, the device root (+ issuing CA for device chains), and an ACL
// that lets this station serve acme.
struct LineRegistry {
    QProcess process;
    QString url;

    LineRegistry(const LineFixture& f, quint16 port) {
        const QString deviceCa =
            f.writeFile(QStringLiteral("registry-device-ca.pem"),
                        readAll(f.exportFile(QStringLiteral("device-root-ca.pem"))) +
                            readAll(f.exportFile(QStringLiteral("issuing-ca.pem"))));
        const QString acl =
            f.writeFile(QStringLiteral("stations.acl"), stationName(f).toUtf8() + ": acme\n");
        process.setProcessChannelMode(QProcess::SeparateChannels);
        process.start(buildPath("sim/registry/keyline-registry"),
                      {QStringLiteral("--listen"), QStringLiteral("127.0.0.1:%1").arg(port),
                       QStringLiteral("--cert"), f.exportFile(QStringLiteral("registry-dev.pem")),
                       QStringLiteral("--key"), f.exportFile(QStringLiteral("registry-dev.key")),
                       QStringLiteral("--device-ca"), deviceCa, QStringLiteral("--station-acl"),
                       acl, QStringLiteral("--db"), f.path(QStringLiteral("registry.db"))});
        REQUIRE(process.waitForStarted(5000));
        QByteArray out;
        while (!out.contains('\n')) {
            if (!process.waitForReadyRead(10000)) {
                INFO(process.readAllStandardError().toStdString());
                FAIL("keyline-registry did not print its ready line");
            }
            out += process.readAllStandardOutput();
        }
        REQUIRE(out.startsWith("ready https://127.0.0.1:"));
        url = QString::fromLatin1(out.mid(6, out.indexOf('\n') - 6));
    }
    ~LineRegistry() {
        process.terminate();
        if (!process.waitForFinished(5000))
            process.kill();
        process.waitForFinished(5000);
    }

    static QByteArray readAll(const QString& path) {
        QFile f(path);
        REQUIRE(f.open(QIODevice::ReadOnly));
        return f.readAll();
    }
    // The CN init-dev wrote into the station's TLS certificate.
    static QString stationName(const LineFixture& f) {
        const auto cert =
            QSslCertificate::fromPath(f.exportFile(QStringLiteral("station-tls.pem")));
        REQUIRE(cert.size() == 1);
        return cert.constFirst().subjectInfo(QSslCertificate::CommonName).value(0);
    }
};

quint16 freePort() {
    QTcpServer s;
    REQUIRE(s.listen(QHostAddress::LocalHost, 0));
    return s.serverPort();
}

// Adds [backend] to the line's keyline.conf.
void configureBackend(LineFixture& f, const QString& url) {
    QFile conf(f.config);
    REQUIRE(conf.open(QIODevice::Append));
    conf.write("[backend]\nurl = " + url.toUtf8() + "\ntimeout_ms = 3000\n");
}

QJsonObject registryList(const LineFixture& f) {
    const CliRun r =
        f.expect({QStringLiteral("registry"), QStringLiteral("list"), QStringLiteral("--customer"),
                  QStringLiteral("acme"), QStringLiteral("--json")},
                 0);
    return QJsonDocument::fromJson(r.out.toUtf8()).object();
}

QStringList deviceIds(const QJsonObject& list, const QString& state) {
    QStringList ids;
    for (const QJsonValue& v : list.value(QStringLiteral("devices")).toArray())
        if (v.toObject().value(QStringLiteral("state")).toString() == state)
            ids << v.toObject().value(QStringLiteral("deviceId")).toString();
    return ids;
}

QJsonObject eventNamed(const RunProcess& run, const QString& name) {
    for (const QJsonObject& e : run.events)
        if (e.value(QStringLiteral("event")).toString() == name)
            return e;
    return {};
}

// Runs the whole order on `quantity` slots: every device passes and `pending` registrations are
// left in the outbox at the end.
void provisionAll(LineFixture& f, const QString& order, int quantity, int pending) {
    RunProcess run(f, order, quantity, 10);
    run.readUntil({}, 180000);
    INFO(run.process.readAllStandardError().toStdString());
    CHECK(run.process.exitCode() == 0);
    CHECK(run.report().value(QStringLiteral("passed")).toInt() == quantity);
    CHECK(eventNamed(run, QStringLiteral("registrations"))
              .value(QStringLiteral("pending"))
              .toInt(-1) == pending);
}

// Provisions an order of `quantity` devices while the configured back-end (a free port on
// loopback, returned) is down: every registration waits in the outbox.
quint16 provisionWithBackendDown(LineFixture& f, const QString& order, int quantity) {
    test::makeOrder(f, order, quantity);
    const quint16 port = freePort();
    configureBackend(f, QStringLiteral("https://127.0.0.1:%1").arg(port));
    SimProcess sim(f, quantity, 1);
    provisionAll(f, order, quantity, quantity);
    return port;
}

} // namespace

TEST_CASE("a device is provisioned, registered and bootstraps itself", "[registration][line]") {
    LineFixture f;
    test::makeOrder(f, QStringLiteral("PO-REG"), 2);
    LineRegistry registry(f, 0);
    configureBackend(f, registry.url);
    SimProcess sim(f, 2, 1);
    provisionAll(f, QStringLiteral("PO-REG"), 2, 0);
    const QStringList created = deviceIds(registryList(f), QStringLiteral("created"));
    CHECK(created.size() == 2);

    const CliRun doctor = f.run({QStringLiteral("doctor")});
    INFO(doctor.all().toStdString());
    CHECK(doctor.code == 0);
    CHECK(doctor.out.contains(QStringLiteral("reachable over mutual TLS")));

    QProcess boot;
    boot.start(buildPath("sim/keyline-wearable-sim"),
               {QStringLiteral("bootstrap"), QStringLiteral("--state-dir"), sim.stateDir,
                QStringLiteral("--registry"), registry.url, QStringLiteral("--ca"),
                f.exportFile(QStringLiteral("device-root-ca.pem"))});
    REQUIRE(boot.waitForFinished(60000));
    const QByteArray out = boot.readAllStandardOutput();
    INFO(out.toStdString() << boot.readAllStandardError().toStdString());
    CHECK(boot.exitCode() == 0);
    const QList<QByteArray> lines = out.trimmed().split('\n');
    CHECK(lines.size() == 2);
    for (const QByteArray& line : lines) {
        const QJsonObject o = QJsonDocument::fromJson(line).object();
        CHECK(o.value(QStringLiteral("state")).toString() == QStringLiteral("bootstrapped"));
        const QJsonObject conf = o.value(QStringLiteral("configuration")).toObject();
        CHECK(conf.value(QStringLiteral("customerId")).toString() == QStringLiteral("acme"));
        CHECK(created.contains(conf.value(QStringLiteral("deviceId")).toString()));
    }
    CHECK(deviceIds(registryList(f), QStringLiteral("bootstrapped")).size() == 2);
}

TEST_CASE("registry down during a run, up later: registry sync delivers each registration once",
          "[registration][line]") {
    LineFixture f;
    const quint16 port = provisionWithBackendDown(f, QStringLiteral("PO-DOWN"), 3);
    const CliRun down = f.run({QStringLiteral("registry"), QStringLiteral("sync")});
    INFO(down.all().toStdString());
    CHECK(down.code == 3);
    CHECK(down.out.contains(QStringLiteral("pending 3")));
    const CliRun doctorDown = f.run({QStringLiteral("doctor"), QStringLiteral("--json")});
    CHECK(doctorDown.code == 3);
    CHECK(doctorDown.out.contains(QStringLiteral("3 registrations pending")));

    LineRegistry registry(f, port);
    const CliRun up =
        f.expect({QStringLiteral("registry"), QStringLiteral("sync"), QStringLiteral("--json")}, 0);
    const QJsonObject report = QJsonDocument::fromJson(up.out.toUtf8()).object();
    CHECK(report.value(QStringLiteral("sent")).toInt() == 3);
    CHECK(report.value(QStringLiteral("pending")).toInt() == 0);
    const CliRun again =
        f.expect({QStringLiteral("registry"), QStringLiteral("sync"), QStringLiteral("--json")}, 0);
    CHECK(QJsonDocument::fromJson(again.out.toUtf8()).object().value(QStringLiteral("sent")) == 0);
    const QJsonObject list = registryList(f);
    const QStringList ids = deviceIds(list, QStringLiteral("created"));
    CHECK(list.value(QStringLiteral("count")).toInt() == 3);
    CHECK(ids.size() == 3);
    CHECK(QSet<QString>(ids.begin(), ids.end()).size() == 3);
}

TEST_CASE("a back-end answering garbage during a run: every device passes and the "
          "registrations wait until it answers properly",
          "[registration][line]") {
    LineFixture f;
    test::makeOrder(f, QStringLiteral("PO-GARBAGE"), 2);
    quint16 port = 0;
    {
        // The station's TLS check passes (the registry's development certificate); what comes
        // back over it is not an answer.
        test::FakeBackend garbage(f.exportFile(QStringLiteral("registry-dev.pem")),
                                  f.exportFile(QStringLiteral("registry-dev.key")),
                                  "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                                  "Content-Length: 9\r\n\r\nnot json!");
        configureBackend(f, garbage.url);
        port = quint16(QUrl(garbage.url).port());
        SimProcess sim(f, 2, 1);
        provisionAll(f, QStringLiteral("PO-GARBAGE"), 2, 2);
    }
    LineRegistry registry(f, port);
    const CliRun up =
        f.expect({QStringLiteral("registry"), QStringLiteral("sync"), QStringLiteral("--json")}, 0);
    CHECK(QJsonDocument::fromJson(up.out.toUtf8()).object().value(QStringLiteral("sent")) == 2);
    CHECK(deviceIds(registryList(f), QStringLiteral("created")).size() == 2);
}

TEST_CASE("backend settings are checked strictly", "[registration][config]") {
    LineFixture f;
    QFile conf(f.config);
    REQUIRE(conf.open(QIODevice::Append));
    conf.write("[backend]\nurl = http://127.0.0.1:8443\n");
    conf.close();
    const CliRun r = f.run({QStringLiteral("registry"), QStringLiteral("sync")});
    CHECK(r.code == 2);
    CHECK(r.err.contains(QStringLiteral("[backend/url]")));
}

TEST_CASE("registry sync --follow delivers once the back-end is up; SIGTERM stops it",
          "[registration][line]") {
    LineFixture f;
    const quint16 port = provisionWithBackendDown(f, QStringLiteral("PO-FOLLOW"), 2);
    QProcess follower;
    follower.start(buildPath("station/keyline"),
                   {QStringLiteral("--config"), f.config, QStringLiteral("registry"),
                    QStringLiteral("sync"), QStringLiteral("--follow"),
                    QStringLiteral("--interval"), QStringLiteral("1"), QStringLiteral("--json")});
    REQUIRE(follower.waitForStarted(5000));
    QByteArray pending;
    const auto nextPass = [&] {
        QElapsedTimer t;
        t.start();
        while (!pending.contains('\n') && t.elapsed() < 60000 &&
               follower.state() == QProcess::Running) {
            follower.waitForReadyRead(200);
            pending += follower.readAllStandardOutput();
        }
        INFO(follower.readAllStandardError().toStdString());
        REQUIRE(pending.contains('\n'));
        const qsizetype nl = pending.indexOf('\n');
        const QJsonObject o = QJsonDocument::fromJson(pending.left(nl)).object();
        pending.remove(0, nl + 1);
        return o;
    };
    const QJsonObject down = nextPass();
    CHECK(down.value(QStringLiteral("unreachable")).toBool());
    CHECK(down.value(QStringLiteral("pending")).toInt() == 2);

    LineRegistry registry(f, port);
    const QJsonObject up = nextPass();
    CHECK_FALSE(up.value(QStringLiteral("unreachable")).toBool());
    CHECK(up.value(QStringLiteral("sent")).toInt() == 2);
    CHECK(up.value(QStringLiteral("pending")).toInt() == 0);
    CHECK(follower.state() == QProcess::Running);

    follower.terminate();
    REQUIRE(follower.waitForFinished(10000));
    CHECK(follower.exitStatus() == QProcess::NormalExit);
    CHECK(follower.exitCode() == 0);
    CHECK(deviceIds(registryList(f), QStringLiteral("created")).size() == 2);
}

TEST_CASE("registry sync --follow: usage and a missing back-end", "[registration][config]") {
    test::StationFixture f;
    const auto sync = [&f](const QStringList& extra) {
        return f.run(QStringList{QStringLiteral("registry"), QStringLiteral("sync")} + extra);
    };
    CHECK(sync({QStringLiteral("--interval"), QStringLiteral("5")}).code == 2);
    for (const char* bad : {"0", "86401", "soon"}) {
        const CliRun r =
            sync({QStringLiteral("--follow"), QStringLiteral("--interval"), QLatin1String(bad)});
        CHECK(r.code == 2);
        CHECK(r.err.contains(QStringLiteral("--interval must be 1 to 86400")));
    }
    const CliRun none = sync({QStringLiteral("--follow")});
    CHECK(none.code == 3);
    CHECK(none.err.contains(QStringLiteral("[backend] url")));
    CHECK(f.run({QStringLiteral("registry"), QStringLiteral("list"), QStringLiteral("--customer"),
                 QStringLiteral("acme"), QStringLiteral("--follow")})
              .code == 2);
}
